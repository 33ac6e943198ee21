"""DICOM ML Workbench training backend (see trainer/README.md for the command-line and file contract)."""

__version__ = "0.1.0"

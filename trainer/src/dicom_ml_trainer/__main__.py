"""`python -m dicom_ml_trainer …`."""

import sys

from .cli import main

sys.exit(main())

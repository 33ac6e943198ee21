/**
 * The viewer's controls are @vscode-elements/elements web components (VS Code's own look, themed from its CSS
 * variables): registered here once, and two helpers for the states they show — pressed toggles (primary
 * style, aria-pressed) and disabled controls (also aria-disabled, which assistive tools and the E2E read).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';

/** Show a toggle button as on (primary) or off (secondary). */
export function press(el: HTMLElement, on: boolean): void {
  el.setAttribute('aria-pressed', String(on));
  el.toggleAttribute('secondary', !on);
}

/** Enable or disable a control (a web component or a native input). */
export function enable(el: HTMLElement, on: boolean): void {
  (el as HTMLElement & { disabled: boolean }).disabled = !on;
  el.toggleAttribute('disabled', !on);
  el.setAttribute('aria-disabled', String(!on));
}

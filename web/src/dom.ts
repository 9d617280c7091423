// Small DOM helpers: text into an element by id, tables from rows, an error line. Text only, never HTML.
import { t, type Key } from "./i18n";

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

export function setText(id: string, text: string): void { byId(id).textContent = text; }

export type Cell = string | Node;

/** Fill `<table id=...>`: a header of label keys, then the rows (an empty-state row when none). */
export function table(id: string, columns: Key[], rows: Cell[][]): void {
  const el = byId<HTMLTableElement>(id);
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const key of columns) {
    const th = document.createElement("th");
    th.scope = "col"; th.dataset.i18n = key; th.textContent = t(key);
    head.appendChild(th);
  }
  const body = el.createTBody();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = columns.length; cell.dataset.i18n = "none"; cell.textContent = t("none"); cell.className = "empty";
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const value of row) tr.insertCell().append(value);
  }
}

export function code(text: string, max = 16): HTMLElement {
  const el = document.createElement("code");
  el.textContent = text.length > max ? `${text.slice(0, max)}…` : text;
  el.title = text;
  return el;
}

export function showError(id: string, error: unknown): void {
  const el = byId(id);
  el.hidden = false;
  el.textContent = error instanceof Error ? error.message : String(error);
}

export function liveState(state: "on" | "off"): void {
  const el = byId("live");
  el.dataset.state = state;
  el.dataset.i18n = state === "on" ? "live.on" : "live.off";
  el.textContent = t(el.dataset.i18n as Key);
}

/**
 * The page's tables and name–value lists, written in place: a snapshot comes
 * a few times a second and mostly repeats the last, and every node written
 * is laid out and painted again, so only what changed is written.
 */
import { failureOf } from "./engineFailure.js";
import type { EngineRow } from "./engineRow.js";
import { f } from "./svg.js";

/** Name–value pairs, updated in place: they are redrawn with every snapshot, and mostly the same. */
export function gauges(list: HTMLElement, items: Array<[string, string]>): void {
  while (list.children.length > items.length) list.lastElementChild!.remove();
  items.forEach(([name, value], i) => {
    let div = list.children[i];
    if (!div) {
      div = document.createElement("div");
      div.append(document.createElement("dt"), document.createElement("dd"));
      list.appendChild(div);
    }
    setText(div.children[0], name);
    setText(div.children[1], value);
  });
}

/** Writes only what changed: a node written with the text it had is still laid out and painted again. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** A duration in a table cell: about four significant digits, so that the tables fit a laptop's half screen (the waterfall has the µs). */
export const dur = (x: number | null | undefined): string => (x === null || x === undefined ? "–" : Math.abs(x) >= 100 ? String(Math.round(x)) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
/** "1 request", "2 requests". */
export const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
/** Generation routes are all POSTs: the path says which. */
export const path = (route: string): string => route.replace(/^POST /, "");

/**
 * A table body of rows that open a request's waterfall by click or Enter.
 * Rows are keyed by request id: a request keeps its row, so when the recent
 * list moves down by the requests that ended since the last snapshot, only
 * their rows are made and the ones that left removed (rewriting every cell
 * of every row cost the watching browser a third of its layout time); and
 * only changed text is written. `selected`: the request whose waterfall is
 * shown, marked aria-selected.
 */
export function rows(body: HTMLElement, items: Array<{ id: string; cells: string[] }>, selected: string | undefined): void {
  const focused = body.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.id : undefined;
  const wanted = new Set(items.map((x) => x.id));
  const kept = new Map<string, HTMLTableRowElement>();
  for (const tr of [...body.children] as HTMLTableRowElement[]) {
    const id = tr.dataset.id ?? "";
    if (wanted.has(id) && !kept.has(id)) kept.set(id, tr);
    else tr.remove();
  }
  let at = body.firstElementChild;
  for (const { id, cells } of items) {
    let tr = kept.get(id);
    if (!tr) {
      tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.dataset.id = id;
      tr.title = id;
    }
    kept.delete(id); // an id listed twice gets a second row
    // In place already: not moved (a row moved in the document loses the focus).
    if (tr === at) at = at.nextElementSibling;
    else body.insertBefore(tr, at);
    const chosen = String(id === selected);
    if (tr.getAttribute("aria-selected") !== chosen) tr.setAttribute("aria-selected", chosen);
    while (tr.children.length > cells.length) tr.lastElementChild!.remove();
    cells.forEach((c, k) => {
      const td = (tr.children[k] as HTMLElement | undefined) ?? tr.appendChild(document.createElement("td"));
      setText(td, c);
      if (td.title !== c) td.title = c; // a cell cut short to fit still says all of it on hover
    });
  }
  if (focused === undefined || (document.activeElement as HTMLElement | null)?.dataset.id === focused) return;
  const row = body.querySelector<HTMLElement>(`tr[data-id="${CSS.escape(focused)}"]`);
  // A row that was moved lost the focus: it goes back to it. One whose request left the list is gone, and the focus with it.
  if (row) row.focus({ preventScroll: true });
}

/** The engines behind the router, one row each (as the router sees it, and as it says it is loaded). */
export function engineRows(body: HTMLElement, engines: readonly EngineRow[]): void {
  const table = engines.map((x) => {
    const load = x.load;
    return [x.name, x.kind, x.healthy ? "up" : "down", String(x.outstanding), String(x.served), String(x.failures), load ? `${f(load.running)} / ${f(load.waiting)}` : "–", load?.kvUsage === undefined ? "–" : `${Math.round(load.kvUsage * 100)} %`, failureOf(x)];
  });
  // A few engines, mostly unchanged from one snapshot to the next: written only when something in them changed.
  const written = JSON.stringify(table);
  if (body.dataset.written === written) return;
  body.dataset.written = written;
  body.replaceChildren(
    ...table.map((cells) => {
      const tr = document.createElement("tr");
      tr.dataset.engine = cells[0];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      // The failure's text is cut to fit: the whole of it on hover.
      tr.lastElementChild!.setAttribute("title", cells.at(-1)!);
      return tr;
    }),
  );
}

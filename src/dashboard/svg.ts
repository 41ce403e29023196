/** What the dashboard's drawings share: making SVG elements, hover titles (as text), and ms figures. */

const SVG = "http://www.w3.org/2000/svg";

export function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, parent: Element): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  setAttrs(node, attrs);
  parent.appendChild(node);
  return node;
}

export function setAttrs(node: Element, attrs: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
}

/** A hover title, as text (never markup). */
export function titled(node: Element, text: string): void {
  const title = document.createElementNS(SVG, "title");
  title.textContent = text;
  node.appendChild(title);
}

/** ms to the µs; "–" when unknown. */
export const f = (x: number | null | undefined): string => (x === null || x === undefined ? "–" : (Math.round(x * 1000) / 1000).toString());

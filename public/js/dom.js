// Builds DOM nodes without innerHTML, so nothing a visitor or the API says is ever parsed as HTML.

/**
 * h('p', { class: 'note', hidden: true }, 'text', child) → <p class="note" hidden>text…</p>
 * Attributes: `class`, `on<Event>` handlers, booleans (true sets, false omits), the rest as strings.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined || value === null) continue
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2).toLowerCase(), value)
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  element.append(...children.flat().filter((child) => child !== undefined && child !== null && child !== false))
  return element
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((child) => child !== undefined && child !== null && child !== false))
  return element
}

export const byId = (id) => document.getElementById(id)

/** "3 Jun, 14:05" in the reader's locale. */
export function when(iso) {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
}

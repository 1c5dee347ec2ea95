// Where a page keeps its token. An admin hands a token to a page in the URL fragment
// (`#token=<JWT>`: browsers never send the fragment to the server, so it stays out of access
// logs and proxies); the page moves it into localStorage and removes it from the address bar.
// A person can also paste it into the sign-in field. Each page (kiosk, family, keeper) has its
// own slot, so signing in to the keeper page on a kiosk does not change the kiosk's identity.
import { decodeToken, expiresAt } from '/client/index.js'

export class Credentials {
  /** @param {string} slot e.g. 'kiosk' */
  constructor(slot) {
    this.key = `animal-chat.${slot}.token`
    this.refreshKey = `animal-chat.${slot}.refresh-url`
    this.#takeFromFragment()
  }

  /** The stored token, or undefined (an expired one counts as none). */
  get token() {
    const token = read(this.key)
    return token && (expiresAt(token) ?? Infinity) > Date.now() ? token : undefined
  }

  /** { sub, role, exp } of the stored token (unverified: for display only; the server decides). */
  get claims() {
    return this.token ? decodeToken(this.token) : undefined
  }

  /** A same-origin URL that hands out a fresh token (see the README), when one was configured. */
  get refreshUrl() {
    return read(this.refreshKey)
  }

  save(token) {
    write(this.key, token.trim())
  }

  clear() {
    remove(this.key)
  }

  /**
   * The client's getToken: the stored token to connect; for a rotation (or after the server
   * refused the token) a new one from the refresh URL when one is configured (it is POSTed the
   * current token and answers { token }), else whatever is stored now (an admin may have opened
   * the page again with a new #token=).
   */
  async fresh({ reason } = { reason: 'rotate' }) {
    const url = this.refreshUrl
    const current = this.token
    if (url && current && reason !== 'connect') {
      try {
        const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${current}` } })
        const body = response.ok ? await response.json() : undefined
        if (typeof body?.token === 'string') this.save(body.token)
      } catch {
        // Keep the current token; the client asks again before it runs out.
      }
    }
    return this.token
  }

  #takeFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1))
    const token = params.get('token')
    if (!token) return
    this.save(token)
    const refresh = params.get('refresh')
    if (refresh && new URL(refresh, location.href).origin === location.origin) write(this.refreshKey, refresh)
    // The token should not stay in the address bar, the history or a bookmark.
    history.replaceState(null, '', location.pathname + location.search)
  }
}

// localStorage can be unavailable (private mode, storage disabled): then the page forgets on reload.
const memory = new Map()
function read(key) {
  try { return localStorage.getItem(key) ?? undefined } catch { return memory.get(key) }
}
function write(key, value) {
  try { localStorage.setItem(key, value) } catch { memory.set(key, value) }
}
function remove(key) {
  try { localStorage.removeItem(key) } catch { memory.delete(key) }
}

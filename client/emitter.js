// A tiny event emitter (the same in browsers and Node): on() returns a function that unsubscribes.
export class Emitter {
  #listeners = new Map()

  on(type, listener) {
    let set = this.#listeners.get(type)
    if (!set) this.#listeners.set(type, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  once(type, listener) {
    const off = this.on(type, (value) => {
      off()
      listener(value)
    })
    return off
  }

  emit(type, value) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(value)
      } catch (err) {
        // A failing listener must not break the stream for the others.
        queueMicrotask(() => { throw err })
      }
    }
  }
}

// What the conversation so far tells the offline responder, read from the request's context
// messages (the engine's window of earlier turns): how many turns came before, the language the
// visitor wrote in, and everything the animal already said, so facts and jokes are not repeated
// and "tell me more" knows what "more" is about. Stateless: the same messages give the same answer.
import type { Language } from '../core/text/language.ts'
import { foldText } from '../core/text/normalize.ts'
import type { ChatMessage } from '../core/types.ts'
import { messageLanguage } from './offline-understand.ts'

export interface Conversation {
  /** Visitor messages before this one, within the context window. */
  turn: number
  /** The first visitor message in the window (or this one): seeds the session's phrasing. */
  opening: string
  /** The language of the visitor's last message, for a message that gives no hint ("ok"). */
  previousLanguage?: Language
  /** Everything the animal said, folded and joined: a fact is "given" when its folded text is in here. */
  said: string
  /** The animal's last reply, folded: what "why?" and "tell me more" are about. */
  lastReply: string
}

/** Reads the context messages; `question` (the new message, usually last in `messages`) is left out. */
export function readConversation(messages: readonly ChatMessage[], question: string): Conversation {
  const earlier = messages.filter((message) => message.role !== 'system')
  const last = earlier.at(-1)
  if (last?.role === 'user' && last.content === question) earlier.pop()
  const asked = earlier.filter((message) => message.role === 'user').map((message) => message.content)
  const replies = earlier.filter((message) => message.role === 'assistant').map((message) => foldText(message.content))
  const lastAsked = asked.at(-1)
  return {
    turn: asked.length,
    opening: asked[0] ?? question,
    previousLanguage: lastAsked === undefined ? undefined : messageLanguage(lastAsked),
    said: replies.join(' | '),
    lastReply: replies.at(-1) ?? '',
  }
}

// The cursor codec on its own: what a decoded position must look like to be accepted.
import t, { type Test } from 'tap'
import { AppError } from '../src/core/errors.ts'
import { CursorCodec } from '../src/storage/cursor.ts'

const KEY = Buffer.alloc(32, 7)
const codec = new CursorCodec(KEY)
const attributes = ['pk', 'sk']

function rejects(t: Test, cursor: string, label: string): void {
  try {
    codec.decode('turns:a', cursor, attributes)
    t.ok(false, `${label}: accepted`)
  } catch (err) {
    t.ok(err instanceof AppError && err.statusCode === 400 && err.message === 'cursor is invalid', label)
  }
}

t.test('round trip', async (t) => {
  const position = { pk: 'SESSION#a', sk: 'TURN#2030-01-01T00:00:00.000Z#x' }
  const cursor = codec.encode('turns:a', position)
  t.match(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe, no padding')
  t.same(codec.decode('turns:a', cursor, attributes), position)
  t.same(new CursorCodec(KEY).decode('turns:a', cursor, attributes), position, 'valid in another process with the same key')
  t.throws(() => new CursorCodec().decode('turns:a', cursor, attributes), { message: 'cursor is invalid' }, 'a codec built without a key has a random one of its own')
})

t.test('a correctly signed cursor must still hold exactly the expected string key', async (t) => {
  rejects(t, codec.encode('turns:b', { pk: 'p', sk: 's' }), 'other scope')
  rejects(t, codec.encode('turns:a', { pk: 'p' }), 'attribute missing')
  rejects(t, codec.encode('turns:a', { pk: 'p', sk: 's', extra: 'x' }), 'extra attribute')
  rejects(t, codec.encode('turns:a', { pk: 'p', other: 's' }), 'wrong attribute')
  rejects(t, codec.encode('turns:a', { pk: 'p', sk: '' }), 'empty value')
  rejects(t, codec.encode('turns:a', { pk: 'p', sk: { S: 'x' } } as never), 'non-string value')
  rejects(t, codec.encode('turns:a', { pk: 'p', sk: 'x'.repeat(3000) }), 'oversized value')
  rejects(t, new CursorCodec('another key').encode('turns:a', { pk: 'p', sk: 's' }), 'signed with another key')
  rejects(t, `${codec.encode('turns:a', { pk: 'p', sk: 's' })}.extra`, 'extra segment')
})

t.test('a position must lie in the query\'s partition', async (t) => {
  const cursor = codec.encode('turns:a', { pk: 'SESSION#b', sk: 'TURN#x' })
  t.throws(() => codec.decode('turns:a', cursor, attributes, { pk: 'SESSION#a' }), { message: 'cursor is invalid' }, 'another partition')
  t.same(codec.decode('turns:a', codec.encode('turns:a', { pk: 'SESSION#a', sk: 'TURN#x' }), attributes, { pk: 'SESSION#a' }), { pk: 'SESSION#a', sk: 'TURN#x' })
})

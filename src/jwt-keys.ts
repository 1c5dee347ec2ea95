// Which signature algorithm a JWT_PUBLIC_KEY verifies: read from the key itself, so the accepted
// algorithm is pinned to the key type (an RSA key never verifies an HS256 or ES256 token).
import { createPublicKey } from 'node:crypto'

export type PublicKeyAlgorithm = 'RS256' | 'ES256'

/** PEM text as given in the environment, where newlines are often written as `\n`. */
export function normalizePem(pem: string): string {
  return pem.includes('\\n') ? pem.replaceAll('\\n', '\n') : pem
}

/** RS256 for an RSA key, ES256 for a P-256 EC key; throws a RangeError describing anything else. */
export function publicKeyAlgorithm(pem: string): PublicKeyAlgorithm {
  let key
  try {
    key = createPublicKey(pem)
  } catch (err) {
    throw new RangeError(`is not a PEM public key (${(err as Error).message})`)
  }
  if (key.asymmetricKeyType === 'rsa') return 'RS256'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  const curve = key.asymmetricKeyDetails?.namedCurve
  throw new RangeError(`must be an RSA or P-256 EC public key (RS256 or ES256), got ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}`)
}

// AWS::EC2::KeyPair with the local Parameter Store: as on AWS, a key pair made by the template (no
// PublicKeyMaterial) gets a new RSA key whose private half is kept as the SecureString parameter
// `/ec2/keypair/<KeyPairId>` (`kiln ssm get /ec2/keypair/key-… --with-decryption` reads it, as
// `aws ssm get-parameter` does); an imported key (PublicKeyMaterial) keeps only its public half.
// State holds the public key (instances with this KeyName get it in authorized_keys), never the
// private one. Provider-neutral, like ssm-parameter.ts.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { KilnError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { ResourceHandler } from '../model/provider.js';
import type { ParameterStore } from '../state/ssm.js';

export const KEY_PAIR_TYPE = 'AWS::EC2::KeyPair';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An SSH wire-format string (uint32 length, bytes). */
function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An SSH mpint from an unsigned big-endian number (a leading zero when the top bit is set). */
function mpint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** A new RSA key: its public half in OpenSSH form, its private half as PEM, AWS's fingerprint of it. */
function newRsaKey(comment: string): { publicKey: string; privateKey: string; fingerprint: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(Buffer.from(String(jwk.e), 'base64url')), mpint(Buffer.from(String(jwk.n), 'base64url'))]);
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  // AWS: the SHA-1 digest of the DER-encoded PKCS#8 private key, for RSA keys it created.
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const fingerprint = createHash('sha1')
    .update(der)
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
  return { publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`, privateKey: pem, fingerprint };
}

/** Checks imported key material (OpenSSH `type base64 [comment]`) and gives its MD5 fingerprint, as AWS does for imported keys. */
function importedKey(material: string): { publicKey: string; fingerprint: string } {
  const m = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521))\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/.exec(material.trim());
  if (!m) throw new KilnError('INVALID_KEY', 'PublicKeyMaterial: Key is not in valid OpenSSH public key format (InvalidKey.Format)', 'user');
  const blob = Buffer.from(m[2]!, 'base64');
  return {
    publicKey: material.trim(),
    fingerprint: createHash('md5')
      .update(blob)
      .digest('hex')
      .replace(/(..)(?!$)/g, '$1:'),
  };
}

function keyPairParameter(keyPairId: string): string {
  return `/ec2/keypair/${keyPairId}`;
}

/** The handler for AWS::EC2::KeyPair, backed by `store`. */
export function keyPairHandler(store: ParameterStore): ResourceHandler {
  return {
    type: KEY_PAIR_TYPE,
    effect: 'real',
    async create(ctx, props: JsonObject) {
      const name = str(props.KeyName) ?? `${ctx.stack}-${ctx.logicalId}-${randomBytes(6).toString('hex').toUpperCase()}`;
      const keyType = str(props.KeyType) ?? 'rsa';
      const keyPairId = `key-${randomBytes(9).toString('hex').slice(0, 17)}`;
      const material = str(props.PublicKeyMaterial);
      if (material) {
        const k = importedKey(material);
        return { physicalId: name, attributes: { KeyPairId: keyPairId, KeyFingerprint: k.fingerprint }, data: { publicKey: k.publicKey } };
      }
      if (keyType !== 'rsa')
        throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::KeyPair KeyType ${keyType}: the local target makes rsa keys (import an ${keyType} key with PublicKeyMaterial)`, 'user');
      const k = newRsaKey(name);
      store.put({ name: keyPairParameter(keyPairId), type: 'SecureString', value: k.privateKey, description: `private key of key pair ${name}` });
      return { physicalId: name, attributes: { KeyPairId: keyPairId, KeyFingerprint: k.fingerprint }, data: { publicKey: k.publicKey } };
    },
    async delete(_ctx, state) {
      const id = state.attributes.KeyPairId;
      if (typeof id === 'string') store.delete(keyPairParameter(id));
    },
  };
}

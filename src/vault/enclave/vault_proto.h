/*
 * The vault enclave's call interface: function ids and message layouts shared by the host
 * (src/vault/keyops*.c) and the enclave (src/vault/enclave/). Nothing but bytes with lengths
 * crosses; the enclave checks every field of every request (the host is hostile).
 *
 * Encoding: a request or reply is a sequence of fields, each
 *   u8          one byte
 *   u32         4 bytes little-endian
 *   bytes       u32 length (little-endian) then that many bytes
 * in the order listed below, with nothing after the last field. An absent optional value is
 * an empty `bytes`.
 *
 *   MASTER_CREATE  in: (nothing)                    out: the sealed master key (raw)
 *   MASTER_OPEN    in: the sealed master key (raw)  out: (nothing)
 *   GENERATE       in: u8 type, u32 bits, bytes curve (JWK crv), bytes bind
 *                  out: bytes blob, bytes public key (SubjectPublicKeyInfo DER; empty for oct),
 *                       u32 bits
 *   IMPORT         in: u8 type, bytes bind, u8 count, count x bytes, in this order:
 *                       RSA n e d p q dp dq qi | EC crv x y d | oct k
 *                  out: as GENERATE
 *   CRYPT          in: u8 op, bytes alg, bytes blob, bytes bind, bytes value, bytes digest,
 *                      bytes iv, bytes aad, bytes tag
 *                  out: u8 verified, bytes value, bytes iv, bytes tag
 *   RELEASE        in: bytes blob, bytes bind, bytes kek n, bytes kek e (big-endian),
 *                      bytes enc
 *                  out: the wrapped key (raw)
 *   BACKUP_SEAL    in: the bundle (raw)             out: the sealed bundle (raw)
 *   BACKUP_OPEN    in: the sealed bundle (raw)      out: the bundle (raw)
 *   RANDOM         in: u32 length                   out: that many random bytes (raw)
 *   SCRUB          in: anything                     out: (nothing); the host overwrites the
 *                  request area of its ring with it after sending an imported private key
 *
 * Trust: the host learns only blobs, public keys, results and error messages; no message
 * carries key material from the enclave to the host.
 */
#ifndef CLOAK_VAULT_PROTO_H
#define CLOAK_VAULT_PROTO_H

enum {
    VE_FID_MASTER_CREATE = 1,
    VE_FID_MASTER_OPEN = 2,
    VE_FID_GENERATE = 3,
    VE_FID_IMPORT = 4,
    VE_FID_CRYPT = 5,
    VE_FID_RELEASE = 6,
    VE_FID_BACKUP_SEAL = 7,
    VE_FID_BACKUP_OPEN = 8,
    VE_FID_RANDOM = 9,
    VE_FID_SCRUB = 10,
};

/* Key types and ops: the same values as cloak_vk_type and cloak_vk_op (vault/keyops.h). */
enum { VE_KEY_RSA = 1, VE_KEY_EC = 2, VE_KEY_OCT = 3 };
enum { VE_OP_ENCRYPT = 1, VE_OP_DECRYPT, VE_OP_WRAP, VE_OP_UNWRAP, VE_OP_SIGN, VE_OP_VERIFY };

#define VE_MAX_BIND 4096u       /* bytes of a key's bind string */
#define VE_MAX_RANDOM 4096u     /* bytes per RANDOM call */
#define VE_IMPORT_RSA_FIELDS 8u /* n e d p q dp dq qi */
#define VE_IMPORT_EC_FIELDS 4u  /* crv x y d */
#define VE_IMPORT_OCT_FIELDS 1u /* k */

/* Blob: magic(4) || type(1) || iv(12) || AES-256-GCM ciphertext || tag(16);
 * AAD = magic || type || bind. */
#define VE_BLOB_MAGIC "CVK1"
#define VE_BLOB_HDR 17u /* magic + type + iv */
#define VE_BLOB_OVERHEAD 33u
/* Sealed backup: magic(4) || iv(12) || AES-256-GCM ciphertext || tag(16); AAD = magic. */
#define VE_BACKUP_MAGIC "CVB1"
#define VE_BACKUP_OVERHEAD 32u

/* Info labels of the HKDF-SHA256 sub-keys derived from the vault master key, and the AAD the
 * master key is sealed with. */
#define VE_INFO_BLOB "cloak-vault key-blob v1"
#define VE_INFO_BACKUP "cloak-vault backup v1"
#define VE_MASTER_AAD "cloak-vault master v1"

#endif

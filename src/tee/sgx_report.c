/* The 384-byte SGX report body (Intel DCAP ECDSA quote spec, "SGX Report Body"; see
 * shared/reference/attestation.md §1). Explicit little-endian byte stores, never a packed
 * struct, so the layout is the same on every compiler and alignment. */
#include "cloak/platform.h"

#include <string.h>

/* Offsets and sizes, each pinned to the previous field so a typo cannot shift the layout. */
#define OFF_CPUSVN 0
#define OFF_MISCSELECT 16
#define OFF_RESERVED1 20
#define OFF_ISVEXTPRODID 32
#define OFF_ATTR_FLAGS 48
#define OFF_ATTR_XFRM 56
#define OFF_MRENCLAVE 64
#define OFF_RESERVED2 96
#define OFF_MRSIGNER 128
#define OFF_RESERVED3 160
#define OFF_CONFIGID 192
#define OFF_ISVPRODID 256
#define OFF_ISVSVN 258
#define OFF_CONFIGSVN 260
#define OFF_RESERVED4 262
#define OFF_ISVFAMILYID 304
#define OFF_REPORTDATA 320

_Static_assert(OFF_MISCSELECT == OFF_CPUSVN + 16, "CPUSVN is 16 bytes");
_Static_assert(OFF_RESERVED1 == OFF_MISCSELECT + 4, "MISCSELECT is 4 bytes");
_Static_assert(OFF_ISVEXTPRODID == OFF_RESERVED1 + 12, "reserved1 is 12 bytes");
_Static_assert(OFF_ATTR_FLAGS == OFF_ISVEXTPRODID + 16, "ISVEXTPRODID is 16 bytes");
_Static_assert(OFF_ATTR_XFRM == OFF_ATTR_FLAGS + 8, "ATTRIBUTES.flags is 8 bytes");
_Static_assert(OFF_MRENCLAVE == OFF_ATTR_XFRM + 8, "ATTRIBUTES.xfrm is 8 bytes");
_Static_assert(OFF_RESERVED2 == OFF_MRENCLAVE + 32, "MRENCLAVE is 32 bytes");
_Static_assert(OFF_MRSIGNER == OFF_RESERVED2 + 32, "reserved2 is 32 bytes");
_Static_assert(OFF_RESERVED3 == OFF_MRSIGNER + 32, "MRSIGNER is 32 bytes");
_Static_assert(OFF_CONFIGID == OFF_RESERVED3 + 32, "reserved3 is 32 bytes");
_Static_assert(OFF_ISVPRODID == OFF_CONFIGID + CLOAK_CONFIGID_BYTES, "CONFIGID is 64 bytes");
_Static_assert(OFF_ISVSVN == OFF_ISVPRODID + 2, "ISVPRODID is 2 bytes");
_Static_assert(OFF_CONFIGSVN == OFF_ISVSVN + 2, "ISVSVN is 2 bytes");
_Static_assert(OFF_RESERVED4 == OFF_CONFIGSVN + 2, "CONFIGSVN is 2 bytes");
_Static_assert(OFF_ISVFAMILYID == OFF_RESERVED4 + 42, "reserved4 is 42 bytes");
_Static_assert(OFF_REPORTDATA == OFF_ISVFAMILYID + 16, "ISVFAMILYID is 16 bytes");
_Static_assert(OFF_REPORTDATA + CLOAK_REPORT_DATA_BYTES == CLOAK_SGX_REPORT_BODY_BYTES,
               "SGX report body is 384 bytes");
_Static_assert(CLOAK_REPORT_DATA_BYTES == 64, "REPORTDATA is 64 bytes");

void cloak_sgx_report_encode(const cloak_sgx_report *r, uint8_t out[CLOAK_SGX_REPORT_BODY_BYTES])
{
    memset(out, 0, CLOAK_SGX_REPORT_BODY_BYTES); /* reserved fields are zero */
    memcpy(out + OFF_CPUSVN, r->cpusvn, 16);
    cloak_put_u32le(out + OFF_MISCSELECT, r->miscselect);
    memcpy(out + OFF_ISVEXTPRODID, r->isvextprodid, 16);
    cloak_put_u64le(out + OFF_ATTR_FLAGS, r->attr_flags);
    cloak_put_u64le(out + OFF_ATTR_XFRM, r->attr_xfrm);
    memcpy(out + OFF_MRENCLAVE, r->mrenclave, 32);
    memcpy(out + OFF_MRSIGNER, r->mrsigner, 32);
    memcpy(out + OFF_CONFIGID, r->configid, CLOAK_CONFIGID_BYTES);
    cloak_put_u16le(out + OFF_ISVPRODID, r->isvprodid);
    cloak_put_u16le(out + OFF_ISVSVN, r->isvsvn);
    cloak_put_u16le(out + OFF_CONFIGSVN, r->configsvn);
    memcpy(out + OFF_ISVFAMILYID, r->isvfamilyid, 16);
    memcpy(out + OFF_REPORTDATA, r->reportdata, CLOAK_REPORT_DATA_BYTES);
}

void cloak_sgx_report_decode(const uint8_t in[CLOAK_SGX_REPORT_BODY_BYTES], cloak_sgx_report *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->cpusvn, in + OFF_CPUSVN, 16);
    r->miscselect = cloak_get_u32le(in + OFF_MISCSELECT);
    memcpy(r->isvextprodid, in + OFF_ISVEXTPRODID, 16);
    r->attr_flags = cloak_get_u64le(in + OFF_ATTR_FLAGS);
    r->attr_xfrm = cloak_get_u64le(in + OFF_ATTR_XFRM);
    memcpy(r->mrenclave, in + OFF_MRENCLAVE, 32);
    memcpy(r->mrsigner, in + OFF_MRSIGNER, 32);
    memcpy(r->configid, in + OFF_CONFIGID, CLOAK_CONFIGID_BYTES);
    r->isvprodid = cloak_get_u16le(in + OFF_ISVPRODID);
    r->isvsvn = cloak_get_u16le(in + OFF_ISVSVN);
    r->configsvn = cloak_get_u16le(in + OFF_CONFIGSVN);
    memcpy(r->isvfamilyid, in + OFF_ISVFAMILYID, 16);
    memcpy(r->reportdata, in + OFF_REPORTDATA, CLOAK_REPORT_DATA_BYTES);
}

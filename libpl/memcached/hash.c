// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/hash.c - the key hashes libmemcached offers, computed
 * the way it computes them, so that both pick the same server for a key.
 *
 * DEFAULT is Jenkins' one-at-a-time; MD5 is the digest's first four bytes
 * read little-endian; CRC is bits 16..30 of the inverted CRC-32; the FNV
 * forms use the 64-bit or 32-bit offset basis and prime and keep the low
 * 32 bits. HSIEH, MURMUR, JENKINS, MURMUR3 and CUSTOM are not offered
 * (behavior_set refuses them).
 */
#include <string.h>
#include "mc.h"

/* MD5 (RFC 1321). The sine table is folded by the compiler. */
#define T(i)                                                                   \
	((uint32_t)(__builtin_fabs(__builtin_sin((double)(i))) * 4294967296.0))
static const uint32_t md5_t[64] = {
	T(1),  T(2),  T(3),  T(4),  T(5),  T(6),  T(7),	 T(8),	T(9),  T(10),
	T(11), T(12), T(13), T(14), T(15), T(16), T(17), T(18), T(19), T(20),
	T(21), T(22), T(23), T(24), T(25), T(26), T(27), T(28), T(29), T(30),
	T(31), T(32), T(33), T(34), T(35), T(36), T(37), T(38), T(39), T(40),
	T(41), T(42), T(43), T(44), T(45), T(46), T(47), T(48), T(49), T(50),
	T(51), T(52), T(53), T(54), T(55), T(56), T(57), T(58), T(59), T(60),
	T(61), T(62), T(63), T(64),
};
#undef T

static const unsigned char md5_s[4][4] = {
	{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static uint32_t rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void md5_block(uint32_t h[4], const unsigned char *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g, r = i / 16;

		if (r == 0) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (r == 1) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (r == 2) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		f += a + md5_t[i] + w[g];
		a = d;
		d = c;
		c = b;
		b += rol(f, md5_s[r][i % 4]);
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

void mc_md5(const void *data, size_t len, unsigned char out[16])
{
	uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t full = len & ~(size_t)63, rest = len - full, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t off = 0; off < full; off += 64)
		md5_block(h, p + off);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 8 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(h, tail);
	if (tl == 128)
		md5_block(h, tail + 64);
	for (int i = 0; i < 16; i++)
		out[i] = (unsigned char)(h[i / 4] >> (8 * (i % 4)));
}

static uint32_t crc32_ieee(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

int mc_hash_supported(int algo)
{
	return algo >= MEMCACHED_HASH_DEFAULT &&
	       algo <= MEMCACHED_HASH_FNV1A_32;
}

uint32_t mc_hash(int algo, const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key;
	unsigned char d[16];
	uint64_t h64;
	uint32_t h;

	switch (algo) {
	case MEMCACHED_HASH_MD5:
		mc_md5(p, len, d);
		return (uint32_t)d[0] | (uint32_t)d[1] << 8 |
		       (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
	case MEMCACHED_HASH_CRC:
		return (crc32_ieee(p, len) >> 16) & 0x7fff;
	case MEMCACHED_HASH_FNV1_64:
	case MEMCACHED_HASH_FNV1A_64:
		h64 = 0xcbf29ce484222325ull;
		for (size_t i = 0; i < len; i++) {
			if (algo == MEMCACHED_HASH_FNV1_64) {
				h64 *= 0x100000001b3ull;
				h64 ^= p[i];
			} else {
				h64 ^= p[i];
				h64 *= 0x100000001b3ull;
			}
		}
		return (uint32_t)h64;
	case MEMCACHED_HASH_FNV1_32:
	case MEMCACHED_HASH_FNV1A_32:
		h = 2166136261u;
		for (size_t i = 0; i < len; i++) {
			if (algo == MEMCACHED_HASH_FNV1_32) {
				h *= 16777619u;
				h ^= p[i];
			} else {
				h ^= p[i];
				h *= 16777619u;
			}
		}
		return h;
	default: /* one-at-a-time */
		h = 0;
		for (size_t i = 0; i < len; i++) {
			h += p[i];
			h += h << 10;
			h ^= h >> 6;
		}
		h += h << 3;
		h ^= h >> 11;
		h += h << 15;
		return h;
	}
}

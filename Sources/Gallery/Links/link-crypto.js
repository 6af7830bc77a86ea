/*
 * link-crypto.js: what a Keepsake public link's page needs and WebCrypto lacks (docs/public-links.md, "Keys").
 *
 * - libsodium's crypto_secretstream_xchacha20poly1305, pull side (HChaCha20 subkey, ChaCha20-IETF, Poly1305), and
 *   the object format keepsake stores with it (Sources/KeepsakeCrypto/SecretStream.swift): openSecretStream, and
 *   createOpener for an object that arrives in pieces.
 * - BLAKE2b-512, unkeyed (libsodium's crypto_generichash with BYTES_MAX).
 * - base64url (no padding) and hex.
 *
 * Plain browser JavaScript, no dependencies, no build step: a classic <script> defines the global KeepsakeLinkCrypto
 * (and node gets it as module.exports). Proven against libsodium by Tests/GalleryTests/LinkCryptoTests.swift.
 */
(function (root) {
  'use strict';

  // ---------------------------------------------------------------------------------------------------------------
  // Errors

  /** Why an object or a chunk did not open: kind is 'authentication', 'truncated', 'trailing' or 'malformed'. */
  class SecretStreamError extends Error {
    constructor(kind, message, chunk) {
      super(message);
      this.name = 'SecretStreamError';
      this.kind = kind;
      this.chunk = chunk === undefined ? null : chunk;
    }
  }

  function bytesOf(value, what) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    throw new TypeError(what + ' must be a Uint8Array, an ArrayBuffer or a typed array view');
  }

  function load32(b, i) {
    return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // ChaCha20 (RFC 8439: 32-bit block counter, 96-bit nonce) and HChaCha20

  const SIGMA0 = 0x61707865, SIGMA1 = 0x3320646e, SIGMA2 = 0x79622d32, SIGMA3 = 0x6b206574;  // "expand 32-byte k"

  /** Writes the ChaCha20 block (k: 8 words, counter, nonce n0..n2) to out (16 words); with hchacha, HChaCha20's
   *  words (no feed-forward; the caller keeps words 0..3 and 12..15), where counter, n0..n2 are its 16-byte input. */
  function chachaCore(out, k, counter, n0, n1, n2, hchacha) {
    const j0 = SIGMA0, j1 = SIGMA1, j2 = SIGMA2, j3 = SIGMA3;
    const j4 = k[0] | 0, j5 = k[1] | 0, j6 = k[2] | 0, j7 = k[3] | 0;
    const j8 = k[4] | 0, j9 = k[5] | 0, j10 = k[6] | 0, j11 = k[7] | 0;
    const j12 = counter | 0, j13 = n0 | 0, j14 = n1 | 0, j15 = n2 | 0;
    let x0 = j0, x1 = j1, x2 = j2, x3 = j3, x4 = j4, x5 = j5, x6 = j6, x7 = j7;
    let x8 = j8, x9 = j9, x10 = j10, x11 = j11, x12 = j12, x13 = j13, x14 = j14, x15 = j15;
    for (let i = 0; i < 10; i++) {
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
    }
    if (hchacha) {
      out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3; out[12] = x12; out[13] = x13; out[14] = x14; out[15] = x15;
      return;
    }
    out[0] = x0 + j0; out[1] = x1 + j1; out[2] = x2 + j2; out[3] = x3 + j3;
    out[4] = x4 + j4; out[5] = x5 + j5; out[6] = x6 + j6; out[7] = x7 + j7;
    out[8] = x8 + j8; out[9] = x9 + j9; out[10] = x10 + j10; out[11] = x11 + j11;
    out[12] = x12 + j12; out[13] = x13 + j13; out[14] = x14 + j14; out[15] = x15 + j15;
  }

  const keystream = new Uint32Array(16);
  const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

  /** out[outPos ..< outPos+length] = input[inPos ..< inPos+length] XOR ChaCha20(k, nonce n0..n2) from block `counter`
   *  (input and out must not overlap). */
  function chachaXor(k, counter, n0, n1, n2, input, inPos, out, outPos, length) {
    const ks = keystream;
    if (LITTLE_ENDIAN && (out.byteOffset + outPos) % 4 === 0 && length >= 64) {
      // Copy, then XOR whole blocks in place as words.
      out.set(input.subarray(inPos, inPos + length), outPos);
      const whole = length & ~63;
      const words = new Uint32Array(out.buffer, out.byteOffset + outPos, whole / 4);
      for (let w = 0; w < words.length; w += 16) {
        chachaCore(ks, k, counter, n0, n1, n2, false);
        for (let i = 0; i < 16; i++) words[w + i] ^= ks[i];
        counter = (counter + 1) >>> 0;
      }
      inPos += whole; outPos += whole; length -= whole;
    }
    while (length >= 64) {
      chachaCore(ks, k, counter, n0, n1, n2, false);
      for (let w = 0; w < 16; w++) {
        const x = ks[w];
        const i = inPos + 4 * w, o = outPos + 4 * w;
        out[o] = input[i] ^ x;
        out[o + 1] = input[i + 1] ^ (x >>> 8);
        out[o + 2] = input[i + 2] ^ (x >>> 16);
        out[o + 3] = input[i + 3] ^ (x >>> 24);
      }
      counter = (counter + 1) >>> 0;
      inPos += 64; outPos += 64; length -= 64;
    }
    if (length > 0) {
      chachaCore(ks, k, counter, n0, n1, n2, false);
      for (let j = 0; j < length; j++) out[outPos + j] = input[inPos + j] ^ (ks[j >>> 2] >>> (8 * (j & 3)));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Poly1305 (RFC 8439), ten 13-bit limbs so that every product stays an exact double

  const TWO_M13 = 1 / 8192;

  class Poly1305 {
    /** key: 32 bytes at key[keyPos]. */
    constructor(key, keyPos) {
      const k = new Uint8Array(16);
      for (let i = 0; i < 16; i++) k[i] = key[keyPos + i];
      k[3] &= 15; k[7] &= 15; k[11] &= 15; k[15] &= 15; k[4] &= 252; k[8] &= 252; k[12] &= 252;
      this.r = new Float64Array(10);
      limbs(k, 0, this.r, 0);
      this.h = new Float64Array(10);
      this.pad = new Uint16Array(8);
      for (let i = 0; i < 8; i++) this.pad[i] = key[keyPos + 16 + 2 * i] | (key[keyPos + 17 + 2 * i] << 8);
      this.leftover = new Uint8Array(16);
      this.leftoverLength = 0;
    }

    update(m, pos, length) {
      if (this.leftoverLength > 0) {
        const take = Math.min(16 - this.leftoverLength, length);
        for (let i = 0; i < take; i++) this.leftover[this.leftoverLength + i] = m[pos + i];
        this.leftoverLength += take; pos += take; length -= take;
        if (this.leftoverLength < 16) return;
        this.blocks(this.leftover, 0, 16, 1 << 11);
        this.leftoverLength = 0;
      }
      const whole = length & ~15;
      if (whole > 0) { this.blocks(m, pos, whole, 1 << 11); pos += whole; length -= whole; }
      for (let i = 0; i < length; i++) this.leftover[i] = m[pos + i];
      this.leftoverLength = length;
    }

    /** Absorbs `length` (a multiple of 16) bytes; hibit is 2^128 in limb 9, or 0 for the padded last block. */
    blocks(m, pos, length, hibit) {
      const r = this.r, h = this.h;
      const r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7], r8 = r[8], r9 = r[9];
      const s1 = 5 * r1, s2 = 5 * r2, s3 = 5 * r3, s4 = 5 * r4, s5 = 5 * r5, s6 = 5 * r6, s7 = 5 * r7, s8 = 5 * r8, s9 = 5 * r9;
      let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7], h8 = h[8], h9 = h[9];
      const end = pos + length;
      while (pos < end) {
        const t0 = m[pos] | (m[pos + 1] << 8), t1 = m[pos + 2] | (m[pos + 3] << 8);
        const t2 = m[pos + 4] | (m[pos + 5] << 8), t3 = m[pos + 6] | (m[pos + 7] << 8);
        const t4 = m[pos + 8] | (m[pos + 9] << 8), t5 = m[pos + 10] | (m[pos + 11] << 8);
        const t6 = m[pos + 12] | (m[pos + 13] << 8), t7 = m[pos + 14] | (m[pos + 15] << 8);
        h0 += t0 & 0x1fff;
        h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
        h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
        h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
        h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
        h5 += (t4 >>> 1) & 0x1fff;
        h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
        h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
        h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
        h9 += (t7 >>> 5) | hibit;

        // h *= r mod 2^130 - 5: a limb that passes 2^130 comes back times 5. Sums stay below 2^35, exact in a double.
        let d0 = h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6 + h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
        let d1 = h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7 + h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
        let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8 + h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
        let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9 + h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
        let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0 + h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
        let d5 = h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1 + h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
        let d6 = h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2 + h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
        let d7 = h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3 + h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
        let d8 = h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4 + h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
        let d9 = h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5 + h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;

        // Carry in double arithmetic (exact: every value is an integer below 2^53).
        let c = Math.floor(d0 * TWO_M13); h0 = d0 - c * 8192;
        d1 += c; c = Math.floor(d1 * TWO_M13); h1 = d1 - c * 8192;
        d2 += c; c = Math.floor(d2 * TWO_M13); h2 = d2 - c * 8192;
        d3 += c; c = Math.floor(d3 * TWO_M13); h3 = d3 - c * 8192;
        d4 += c; c = Math.floor(d4 * TWO_M13); h4 = d4 - c * 8192;
        d5 += c; c = Math.floor(d5 * TWO_M13); h5 = d5 - c * 8192;
        d6 += c; c = Math.floor(d6 * TWO_M13); h6 = d6 - c * 8192;
        d7 += c; c = Math.floor(d7 * TWO_M13); h7 = d7 - c * 8192;
        d8 += c; c = Math.floor(d8 * TWO_M13); h8 = d8 - c * 8192;
        d9 += c; c = Math.floor(d9 * TWO_M13); h9 = d9 - c * 8192;
        c = c * 5 + h0; h0 = c & 0x1fff; h1 += c >>> 13;
        pos += 16;
      }
      h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7; h[8] = h8; h[9] = h9;
    }

    /** The 16-byte tag, into out[outPos...]. */
    finish(out, outPos) {
      if (this.leftoverLength > 0) {
        const block = this.leftover;
        block[this.leftoverLength] = 1;
        for (let i = this.leftoverLength + 1; i < 16; i++) block[i] = 0;
        this.blocks(block, 0, 16, 0);
        this.leftoverLength = 0;
      }
      const h = Array.from(this.h);
      // Two full carry passes leave every limb below 2^13, h below 2^130.
      for (let pass = 0; pass < 2; pass++) {
        let c = 0;
        for (let i = 0; i < 10; i++) { h[i] += c; c = Math.floor(h[i] / 8192); h[i] -= c * 8192; }
        h[0] += 5 * c;
      }
      // g = h + 5: its carry out of bit 130 says h >= 2^130 - 5, and then h - p is g's low 130 bits.
      const g = new Array(10);
      let c = 5;
      for (let i = 0; i < 10; i++) { g[i] = h[i] + c; c = g[i] >>> 13; g[i] &= 0x1fff; }
      const useG = -c;  // all ones when h >= p, else 0
      for (let i = 0; i < 10; i++) h[i] = (h[i] & ~useG) | (g[i] & useG);
      // (h + s) mod 2^128, as eight 16-bit words.
      const words = [
        h[0] | (h[1] << 13),
        (h[1] >>> 3) | (h[2] << 10),
        (h[2] >>> 6) | (h[3] << 7),
        (h[3] >>> 9) | (h[4] << 4),
        (h[4] >>> 12) | (h[5] << 1) | (h[6] << 14),
        (h[6] >>> 2) | (h[7] << 11),
        (h[7] >>> 5) | (h[8] << 8),
        (h[8] >>> 8) | (h[9] << 5),
      ];
      let carry = 0;
      for (let i = 0; i < 8; i++) {
        const f = (words[i] & 0xffff) + this.pad[i] + carry;
        carry = f >>> 16;
        out[outPos + 2 * i] = f & 0xff;
        out[outPos + 2 * i + 1] = (f >>> 8) & 0xff;
      }
    }
  }

  /** The 130-bit little-endian number of 16 bytes at b[pos] (no 2^128 bit), as ten 13-bit limbs into out[outPos]. */
  function limbs(b, pos, out, outPos) {
    const t = new Array(8);
    for (let i = 0; i < 8; i++) t[i] = b[pos + 2 * i] | (b[pos + 2 * i + 1] << 8);
    out[outPos] = t[0] & 0x1fff;
    out[outPos + 1] = ((t[0] >>> 13) | (t[1] << 3)) & 0x1fff;
    out[outPos + 2] = ((t[1] >>> 10) | (t[2] << 6)) & 0x1fff;
    out[outPos + 3] = ((t[2] >>> 7) | (t[3] << 9)) & 0x1fff;
    out[outPos + 4] = ((t[3] >>> 4) | (t[4] << 12)) & 0x1fff;
    out[outPos + 5] = (t[4] >>> 1) & 0x1fff;
    out[outPos + 6] = ((t[4] >>> 14) | (t[5] << 2)) & 0x1fff;
    out[outPos + 7] = ((t[5] >>> 11) | (t[6] << 5)) & 0x1fff;
    out[outPos + 8] = ((t[6] >>> 8) | (t[7] << 8)) & 0x1fff;
    out[outPos + 9] = t[7] >>> 5;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // crypto_secretstream_xchacha20poly1305, pull side (libsodium's secretstream_xchacha20poly1305.c)

  const HEADERBYTES = 24, KEYBYTES = 32, ABYTES = 17;
  const TAG_MESSAGE = 0, TAG_PUSH = 1, TAG_REKEY = 2, TAG_FINAL = 3;
  const ZEROS = new Uint8Array(16);

  /** The state libsodium's crypto_secretstream_xchacha20poly1305_init_pull makes: `key` is the HChaCha20 subkey (8
   *  words); `nonce` is the 12-byte ChaCha20 nonce as 3 words: [0] the 32-bit message counter, [1..2] the inonce. */
  class PullState {
    constructor(header, key) {
      header = bytesOf(header, 'header');
      key = bytesOf(key, 'key');
      if (header.length !== HEADERBYTES) throw new SecretStreamError('malformed', 'a secretstream header is 24 bytes, got ' + header.length);
      if (key.length !== KEYBYTES) throw new SecretStreamError('malformed', 'a secretstream key is 32 bytes, got ' + key.length);
      const k = new Uint32Array(8);
      for (let i = 0; i < 8; i++) k[i] = load32(key, 4 * i);
      const core = new Uint32Array(16);
      chachaCore(core, k, load32(header, 0), load32(header, 4), load32(header, 8), load32(header, 12), true);
      this.key = new Uint32Array([core[0], core[1], core[2], core[3], core[12], core[13], core[14], core[15]]);
      this.nonce = new Uint32Array([1, load32(header, 16), load32(header, 20)]);
      this.block = new Uint8Array(64);
      this.mac = new Uint8Array(16);
      core.fill(0); k.fill(0);
    }

    /** Opens one chunk (tag byte, ciphertext, 16-byte MAC): {message, tag}. Throws on a forged chunk, leaving the
     *  state as it was (as libsodium does). */
    pull(chunk, ad) {
      chunk = bytesOf(chunk, 'chunk');
      const message = new Uint8Array(Math.max(chunk.length - ABYTES, 0));
      const tag = this.pullInto(chunk, 0, chunk.length, ad, message, 0);
      return { message, tag };
    }

    /** pull, reading in[pos ..< pos+length] and writing the message to out[outPos...]; returns the tag. */
    pullInto(input, pos, length, ad, out, outPos) {
      if (length < ABYTES) throw new SecretStreamError('truncated', 'a secretstream chunk is at least 17 bytes, got ' + length);
      const mlen = length - ABYTES;
      const k = this.key, n = this.nonce, block = this.block;
      const ks = keystream;

      // Poly1305 key: the first 32 bytes of block 0.
      chachaCore(ks, k, 0, n[0], n[1], n[2], false);
      for (let i = 0; i < 8; i++) { const x = ks[i]; block[4 * i] = x; block[4 * i + 1] = x >>> 8; block[4 * i + 2] = x >>> 16; block[4 * i + 3] = x >>> 24; }
      const poly = new Poly1305(block, 0);
      block.fill(0, 0, 32);
      const adBytes = ad === undefined || ad === null ? ZEROS.subarray(0, 0) : bytesOf(ad, 'additional data');
      poly.update(adBytes, 0, adBytes.length);
      poly.update(ZEROS, 0, (0x10 - adBytes.length) & 0xf);

      // The tag block: block 1 XOR (tag, 63 zeros), authenticated as it is sent.
      chachaCore(ks, k, 1, n[0], n[1], n[2], false);
      for (let i = 0; i < 16; i++) { const x = ks[i]; block[4 * i] = x; block[4 * i + 1] = x >>> 8; block[4 * i + 2] = x >>> 16; block[4 * i + 3] = x >>> 24; }
      const tag = (input[pos] ^ block[0]) & 0xff;
      block[0] = input[pos];
      poly.update(block, 0, 64);

      poly.update(input, pos + 1, mlen);
      // libsodium pads by (0x10 - 64 + mlen) & 0xf, which is mlen & 15 (its source says it "should have been" the other way).
      poly.update(ZEROS, 0, (0x10 - 64 + mlen) & 0xf);
      const lengths = new Uint8Array(16);
      store64(lengths, 0, adBytes.length);
      store64(lengths, 8, 64 + mlen);
      poly.update(lengths, 0, 16);
      const mac = this.mac;
      poly.finish(mac, 0);
      block.fill(0);

      let diff = 0;
      const stored = pos + 1 + mlen;
      for (let i = 0; i < 16; i++) diff |= mac[i] ^ input[stored + i];
      if (diff !== 0) { mac.fill(0); throw new SecretStreamError('authentication', 'a secretstream chunk failed authentication'); }

      chachaXor(k, 2, n[0], n[1], n[2], input, pos + 1, out, outPos, mlen);
      n[1] ^= load32(mac, 0);
      n[2] ^= load32(mac, 4);
      n[0] = (n[0] + 1) >>> 0;
      if ((tag & TAG_REKEY) !== 0 || n[0] === 0) this.rekey();
      return tag;
    }

    /** crypto_secretstream_xchacha20poly1305_rekey: key ‖ inonce XOR ChaCha20(key, nonce) block 0; counter = 1. */
    rekey() {
      const k = this.key, n = this.nonce, ks = keystream;
      chachaCore(ks, k, 0, n[0], n[1], n[2], false);
      for (let i = 0; i < 8; i++) k[i] ^= ks[i];
      n[1] ^= ks[8];
      n[2] ^= ks[9];
      n[0] = 1;
    }
  }

  function store64(b, pos, value) {
    const lo = value >>> 0, hi = Math.floor(value / 0x100000000) >>> 0;
    for (let i = 0; i < 4; i++) { b[pos + i] = lo >>> (8 * i); b[pos + 4 + i] = hi >>> (8 * i); }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Keepsake's objects: a 24-byte header, then chunks of chunkSize plaintext bytes + 17; the last chunk, possibly
  // empty, and only it, carries TAG_FINAL.

  const CHUNK_SIZE = 4 * 1024 * 1024;

  function checkChunkSize(chunkSize) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError('chunkSize must be a positive integer');
    return chunkSize;
  }

  /** The plaintext of a whole sealed object. Throws a SecretStreamError when it does not open completely. */
  function openSecretStream(key, sealed, chunkSize) {
    chunkSize = checkChunkSize(chunkSize === undefined ? CHUNK_SIZE : chunkSize);
    sealed = bytesOf(sealed, 'sealed');
    if (sealed.length < HEADERBYTES) throw new SecretStreamError('truncated', 'the object is shorter than its header', 0);
    const sealedChunk = chunkSize + ABYTES;
    const body = sealed.length - HEADERBYTES;
    const chunks = Math.ceil(body / sealedChunk);
    const last = body - (chunks - 1) * sealedChunk;
    // Room for every chunk before the last, and the last if it is long enough to be one.
    const out = new Uint8Array(chunks === 0 ? 0 : (chunks - 1) * chunkSize + Math.max(last - ABYTES, 0));
    const state = new PullState(sealed.subarray(0, HEADERBYTES), key);
    let pos = HEADERBYTES, outPos = 0, index = 0, sawFinal = false;
    try {
      while (pos < sealed.length) {
        if (sawFinal) throw new SecretStreamError('trailing', 'data follows the final chunk', index);
        const length = Math.min(sealedChunk, sealed.length - pos);
        let tag;
        try {
          tag = state.pullInto(sealed, pos, length, null, out, outPos);
        } catch (error) {
          if (error instanceof SecretStreamError) error.chunk = index;
          throw error;
        }
        if (tag === TAG_FINAL) sawFinal = true;
        pos += length; outPos += length - ABYTES; index += 1;
      }
      if (!sawFinal) throw new SecretStreamError('truncated', 'the object ends without its final chunk', index);
    } catch (error) {
      out.fill(0);
      throw error;
    }
    return out;
  }

  /** Opens an object that arrives in pieces: push(piece) returns the plaintext of each chunk the piece completed
   *  (authenticated, but the object is whole only once finish() returns without throwing: discard what was emitted
   *  when anything throws). After a throw, every call throws again. */
  class Opener {
    constructor(key, chunkSize) {
      this.chunkSize = checkChunkSize(chunkSize === undefined ? CHUNK_SIZE : chunkSize);
      key = bytesOf(key, 'key');
      if (key.length !== KEYBYTES) throw new SecretStreamError('malformed', 'a secretstream key is 32 bytes, got ' + key.length);
      this.key = Uint8Array.from(key);
      this.pending = new Uint8Array(HEADERBYTES);
      this.filled = 0;
      this.state = null;
      this.index = 0;
      this.sawFinal = false;
      this.failure = null;
      this.finished = false;
    }

    push(piece) {
      this.check();
      piece = bytesOf(piece, 'piece');
      const plaintexts = [];
      try {
        let pos = 0;
        while (pos < piece.length) {
          if (this.sawFinal) throw new SecretStreamError('trailing', 'data follows the final chunk', this.index);
          const take = Math.min(this.pending.length - this.filled, piece.length - pos);
          this.pending.set(piece.subarray(pos, pos + take), this.filled);
          this.filled += take; pos += take;
          if (this.filled < this.pending.length) break;
          if (this.state === null) this.start(); else plaintexts.push(this.openPending());
        }
      } catch (error) { this.fail(error); }
      return plaintexts;
    }

    /** Opens the last, shorter chunk and checks that the object was complete. */
    finish() {
      this.check();
      const plaintexts = [];
      try {
        if (this.state === null) throw new SecretStreamError('truncated', 'the object is shorter than its header', 0);
        if (this.filled > 0) {
          if (this.sawFinal) throw new SecretStreamError('trailing', 'data follows the final chunk', this.index);
          plaintexts.push(this.openPending());
        }
        if (!this.sawFinal) throw new SecretStreamError('truncated', 'the object ends without its final chunk', this.index);
      } catch (error) { this.fail(error); }
      this.finished = true;
      this.pending.fill(0);
      return plaintexts;
    }

    check() {
      if (this.failure) throw this.failure;
      if (this.finished) throw new Error('the opener is finished');
    }

    fail(error) {
      this.failure = error;
      this.pending.fill(0);
      this.key.fill(0);
      throw error;
    }

    start() {
      this.state = new PullState(this.pending, this.key);
      this.key.fill(0);
      this.pending = new Uint8Array(this.chunkSize + ABYTES);
      this.filled = 0;
    }

    openPending() {
      const length = this.filled;
      const message = new Uint8Array(Math.max(length - ABYTES, 0));
      let tag;
      try {
        tag = this.state.pullInto(this.pending, 0, length, null, message, 0);
      } catch (error) {
        if (error instanceof SecretStreamError) error.chunk = this.index;
        throw error;
      }
      this.index += 1;
      this.filled = 0;
      if (tag === TAG_FINAL) this.sawFinal = true;
      return message;
    }
  }

  function createOpener(key, chunkSize) { return new Opener(key, chunkSize); }

  /** A TransformStream of sealed bytes into plaintext (e.g. response.body.pipeThrough(...)); it errors when the object
   *  does not open completely. */
  function createOpenerStream(key, chunkSize) {
    const opener = new Opener(key, chunkSize);
    return new TransformStream({
      transform(piece, controller) { for (const plain of opener.push(piece)) controller.enqueue(plain); },
      flush(controller) { for (const plain of opener.finish()) controller.enqueue(plain); },
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // BLAKE2b-512 (RFC 7693), unkeyed: 64-bit words as (low, high) pairs of 32-bit words

  const BLAKE2B_IV = new Int32Array([
    0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a,
    0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b, 0x1f83d9ab, 0x137e2179, 0x5be0cd19,
  ]);
  // Message word schedule of the 12 rounds, as offsets into the 32-entry (low, high) array: 2 * SIGMA[round % 10][i].
  const BLAKE2B_SIGMA = new Uint8Array([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
    11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
    7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
    9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
    2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
    12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
    13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
    6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
    10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  ].map((x) => 2 * x));

  class Blake2b {
    constructor() {
      this.h = Int32Array.from(BLAKE2B_IV);
      this.h[0] ^= 0x01010040;  // digest length 64, no key, fanout 1, depth 1
      this.buffer = new Uint8Array(128);
      this.buffered = 0;
      this.countLow = 0;   // bytes hashed, as a 64-bit (low, high) pair
      this.countHigh = 0;
      this.m = new Int32Array(32);
      this.done = false;
    }

    update(bytes) {
      if (this.done) throw new Error('BLAKE2b updated after final');
      bytes = bytesOf(bytes, 'bytes');
      let pos = 0;
      const length = bytes.length;
      // A full buffer is compressed only once more input arrives: the last block is compressed with the final flag.
      if (this.buffered > 0) {
        const take = Math.min(128 - this.buffered, length);
        this.buffer.set(bytes.subarray(0, take), this.buffered);
        this.buffered += take; pos = take;
        if (pos === length) return this;
        this.compress(this.buffer, 0, 128, false);
        this.buffered = 0;
      }
      while (length - pos > 128) { this.compress(bytes, pos, 128, false); pos += 128; }
      this.buffer.set(bytes.subarray(pos), 0);
      this.buffered = length - pos;
      return this;
    }

    /** The 64-byte digest. */
    final() {
      if (this.done) throw new Error('BLAKE2b finalized twice');
      this.done = true;
      this.buffer.fill(0, this.buffered);
      this.compress(this.buffer, 0, this.buffered, true);
      const out = new Uint8Array(64);
      for (let i = 0; i < 16; i++) {
        const x = this.h[i];
        out[4 * i] = x; out[4 * i + 1] = x >>> 8; out[4 * i + 2] = x >>> 16; out[4 * i + 3] = x >>> 24;
      }
      return out;
    }

    /** Compresses the 128-byte block at b[pos], of which `length` bytes are new input. The sixteen 64-bit words of
     *  the work vector are (low, high) pairs of int32 locals; the carry out of a low-word sum t = x + y is
     *  ((x & y) | ((x | y) & ~t)) >>> 31. */
    compress(b, pos, length, last) {
      const m = this.m, h = this.h, IV = BLAKE2B_IV, s = BLAKE2B_SIGMA;
      this.countLow += length;
      if (this.countLow >= 0x100000000) { this.countLow -= 0x100000000; this.countHigh += 1; }
      for (let i = 0; i < 32; i++) { const j = pos + 4 * i; m[i] = b[j] | (b[j + 1] << 8) | (b[j + 2] << 16) | (b[j + 3] << 24); }
      let v0l = h[0], v0h = h[1], v1l = h[2], v1h = h[3], v2l = h[4], v2h = h[5], v3l = h[6], v3h = h[7], v4l = h[8], v4h = h[9], v5l = h[10], v5h = h[11], v6l = h[12], v6h = h[13], v7l = h[14], v7h = h[15];
      let v8l = IV[0], v8h = IV[1], v9l = IV[2], v9h = IV[3], v10l = IV[4], v10h = IV[5], v11l = IV[6], v11h = IV[7], v12l = IV[8], v12h = IV[9], v13l = IV[10], v13h = IV[11], v14l = IV[12], v14h = IV[13], v15l = IV[14], v15h = IV[15];
      v12l ^= this.countLow; v12h ^= this.countHigh;
      if (last) { v14l = ~v14l; v14h = ~v14h; }
      let t = 0, p = 0, q = 0;
      for (let r = 0; r < 192; r += 16) {
        // G(0, 4, 8, 12)
        t = (v0l + v4l) | 0; v0h = (v0h + v4h + (((v0l & v4l) | ((v0l | v4l) & ~t)) >>> 31)) | 0; v0l = t;
        p = m[s[r + 0]]; q = m[s[r + 0] + 1]; t = (v0l + p) | 0; v0h = (v0h + q + (((v0l & p) | ((v0l | p) & ~t)) >>> 31)) | 0; v0l = t;
        t = v12l ^ v0l; v12l = v12h ^ v0h; v12h = t;
        t = (v8l + v12l) | 0; v8h = (v8h + v12h + (((v8l & v12l) | ((v8l | v12l) & ~t)) >>> 31)) | 0; v8l = t;
        p = v4l ^ v8l; q = v4h ^ v8h; v4l = (p >>> 24) | (q << 8); v4h = (q >>> 24) | (p << 8);
        t = (v0l + v4l) | 0; v0h = (v0h + v4h + (((v0l & v4l) | ((v0l | v4l) & ~t)) >>> 31)) | 0; v0l = t;
        p = m[s[r + 1]]; q = m[s[r + 1] + 1]; t = (v0l + p) | 0; v0h = (v0h + q + (((v0l & p) | ((v0l | p) & ~t)) >>> 31)) | 0; v0l = t;
        p = v12l ^ v0l; q = v12h ^ v0h; v12l = (p >>> 16) | (q << 16); v12h = (q >>> 16) | (p << 16);
        t = (v8l + v12l) | 0; v8h = (v8h + v12h + (((v8l & v12l) | ((v8l | v12l) & ~t)) >>> 31)) | 0; v8l = t;
        p = v4l ^ v8l; q = v4h ^ v8h; v4l = (q >>> 31) | (p << 1); v4h = (p >>> 31) | (q << 1);
        // G(1, 5, 9, 13)
        t = (v1l + v5l) | 0; v1h = (v1h + v5h + (((v1l & v5l) | ((v1l | v5l) & ~t)) >>> 31)) | 0; v1l = t;
        p = m[s[r + 2]]; q = m[s[r + 2] + 1]; t = (v1l + p) | 0; v1h = (v1h + q + (((v1l & p) | ((v1l | p) & ~t)) >>> 31)) | 0; v1l = t;
        t = v13l ^ v1l; v13l = v13h ^ v1h; v13h = t;
        t = (v9l + v13l) | 0; v9h = (v9h + v13h + (((v9l & v13l) | ((v9l | v13l) & ~t)) >>> 31)) | 0; v9l = t;
        p = v5l ^ v9l; q = v5h ^ v9h; v5l = (p >>> 24) | (q << 8); v5h = (q >>> 24) | (p << 8);
        t = (v1l + v5l) | 0; v1h = (v1h + v5h + (((v1l & v5l) | ((v1l | v5l) & ~t)) >>> 31)) | 0; v1l = t;
        p = m[s[r + 3]]; q = m[s[r + 3] + 1]; t = (v1l + p) | 0; v1h = (v1h + q + (((v1l & p) | ((v1l | p) & ~t)) >>> 31)) | 0; v1l = t;
        p = v13l ^ v1l; q = v13h ^ v1h; v13l = (p >>> 16) | (q << 16); v13h = (q >>> 16) | (p << 16);
        t = (v9l + v13l) | 0; v9h = (v9h + v13h + (((v9l & v13l) | ((v9l | v13l) & ~t)) >>> 31)) | 0; v9l = t;
        p = v5l ^ v9l; q = v5h ^ v9h; v5l = (q >>> 31) | (p << 1); v5h = (p >>> 31) | (q << 1);
        // G(2, 6, 10, 14)
        t = (v2l + v6l) | 0; v2h = (v2h + v6h + (((v2l & v6l) | ((v2l | v6l) & ~t)) >>> 31)) | 0; v2l = t;
        p = m[s[r + 4]]; q = m[s[r + 4] + 1]; t = (v2l + p) | 0; v2h = (v2h + q + (((v2l & p) | ((v2l | p) & ~t)) >>> 31)) | 0; v2l = t;
        t = v14l ^ v2l; v14l = v14h ^ v2h; v14h = t;
        t = (v10l + v14l) | 0; v10h = (v10h + v14h + (((v10l & v14l) | ((v10l | v14l) & ~t)) >>> 31)) | 0; v10l = t;
        p = v6l ^ v10l; q = v6h ^ v10h; v6l = (p >>> 24) | (q << 8); v6h = (q >>> 24) | (p << 8);
        t = (v2l + v6l) | 0; v2h = (v2h + v6h + (((v2l & v6l) | ((v2l | v6l) & ~t)) >>> 31)) | 0; v2l = t;
        p = m[s[r + 5]]; q = m[s[r + 5] + 1]; t = (v2l + p) | 0; v2h = (v2h + q + (((v2l & p) | ((v2l | p) & ~t)) >>> 31)) | 0; v2l = t;
        p = v14l ^ v2l; q = v14h ^ v2h; v14l = (p >>> 16) | (q << 16); v14h = (q >>> 16) | (p << 16);
        t = (v10l + v14l) | 0; v10h = (v10h + v14h + (((v10l & v14l) | ((v10l | v14l) & ~t)) >>> 31)) | 0; v10l = t;
        p = v6l ^ v10l; q = v6h ^ v10h; v6l = (q >>> 31) | (p << 1); v6h = (p >>> 31) | (q << 1);
        // G(3, 7, 11, 15)
        t = (v3l + v7l) | 0; v3h = (v3h + v7h + (((v3l & v7l) | ((v3l | v7l) & ~t)) >>> 31)) | 0; v3l = t;
        p = m[s[r + 6]]; q = m[s[r + 6] + 1]; t = (v3l + p) | 0; v3h = (v3h + q + (((v3l & p) | ((v3l | p) & ~t)) >>> 31)) | 0; v3l = t;
        t = v15l ^ v3l; v15l = v15h ^ v3h; v15h = t;
        t = (v11l + v15l) | 0; v11h = (v11h + v15h + (((v11l & v15l) | ((v11l | v15l) & ~t)) >>> 31)) | 0; v11l = t;
        p = v7l ^ v11l; q = v7h ^ v11h; v7l = (p >>> 24) | (q << 8); v7h = (q >>> 24) | (p << 8);
        t = (v3l + v7l) | 0; v3h = (v3h + v7h + (((v3l & v7l) | ((v3l | v7l) & ~t)) >>> 31)) | 0; v3l = t;
        p = m[s[r + 7]]; q = m[s[r + 7] + 1]; t = (v3l + p) | 0; v3h = (v3h + q + (((v3l & p) | ((v3l | p) & ~t)) >>> 31)) | 0; v3l = t;
        p = v15l ^ v3l; q = v15h ^ v3h; v15l = (p >>> 16) | (q << 16); v15h = (q >>> 16) | (p << 16);
        t = (v11l + v15l) | 0; v11h = (v11h + v15h + (((v11l & v15l) | ((v11l | v15l) & ~t)) >>> 31)) | 0; v11l = t;
        p = v7l ^ v11l; q = v7h ^ v11h; v7l = (q >>> 31) | (p << 1); v7h = (p >>> 31) | (q << 1);
        // G(0, 5, 10, 15)
        t = (v0l + v5l) | 0; v0h = (v0h + v5h + (((v0l & v5l) | ((v0l | v5l) & ~t)) >>> 31)) | 0; v0l = t;
        p = m[s[r + 8]]; q = m[s[r + 8] + 1]; t = (v0l + p) | 0; v0h = (v0h + q + (((v0l & p) | ((v0l | p) & ~t)) >>> 31)) | 0; v0l = t;
        t = v15l ^ v0l; v15l = v15h ^ v0h; v15h = t;
        t = (v10l + v15l) | 0; v10h = (v10h + v15h + (((v10l & v15l) | ((v10l | v15l) & ~t)) >>> 31)) | 0; v10l = t;
        p = v5l ^ v10l; q = v5h ^ v10h; v5l = (p >>> 24) | (q << 8); v5h = (q >>> 24) | (p << 8);
        t = (v0l + v5l) | 0; v0h = (v0h + v5h + (((v0l & v5l) | ((v0l | v5l) & ~t)) >>> 31)) | 0; v0l = t;
        p = m[s[r + 9]]; q = m[s[r + 9] + 1]; t = (v0l + p) | 0; v0h = (v0h + q + (((v0l & p) | ((v0l | p) & ~t)) >>> 31)) | 0; v0l = t;
        p = v15l ^ v0l; q = v15h ^ v0h; v15l = (p >>> 16) | (q << 16); v15h = (q >>> 16) | (p << 16);
        t = (v10l + v15l) | 0; v10h = (v10h + v15h + (((v10l & v15l) | ((v10l | v15l) & ~t)) >>> 31)) | 0; v10l = t;
        p = v5l ^ v10l; q = v5h ^ v10h; v5l = (q >>> 31) | (p << 1); v5h = (p >>> 31) | (q << 1);
        // G(1, 6, 11, 12)
        t = (v1l + v6l) | 0; v1h = (v1h + v6h + (((v1l & v6l) | ((v1l | v6l) & ~t)) >>> 31)) | 0; v1l = t;
        p = m[s[r + 10]]; q = m[s[r + 10] + 1]; t = (v1l + p) | 0; v1h = (v1h + q + (((v1l & p) | ((v1l | p) & ~t)) >>> 31)) | 0; v1l = t;
        t = v12l ^ v1l; v12l = v12h ^ v1h; v12h = t;
        t = (v11l + v12l) | 0; v11h = (v11h + v12h + (((v11l & v12l) | ((v11l | v12l) & ~t)) >>> 31)) | 0; v11l = t;
        p = v6l ^ v11l; q = v6h ^ v11h; v6l = (p >>> 24) | (q << 8); v6h = (q >>> 24) | (p << 8);
        t = (v1l + v6l) | 0; v1h = (v1h + v6h + (((v1l & v6l) | ((v1l | v6l) & ~t)) >>> 31)) | 0; v1l = t;
        p = m[s[r + 11]]; q = m[s[r + 11] + 1]; t = (v1l + p) | 0; v1h = (v1h + q + (((v1l & p) | ((v1l | p) & ~t)) >>> 31)) | 0; v1l = t;
        p = v12l ^ v1l; q = v12h ^ v1h; v12l = (p >>> 16) | (q << 16); v12h = (q >>> 16) | (p << 16);
        t = (v11l + v12l) | 0; v11h = (v11h + v12h + (((v11l & v12l) | ((v11l | v12l) & ~t)) >>> 31)) | 0; v11l = t;
        p = v6l ^ v11l; q = v6h ^ v11h; v6l = (q >>> 31) | (p << 1); v6h = (p >>> 31) | (q << 1);
        // G(2, 7, 8, 13)
        t = (v2l + v7l) | 0; v2h = (v2h + v7h + (((v2l & v7l) | ((v2l | v7l) & ~t)) >>> 31)) | 0; v2l = t;
        p = m[s[r + 12]]; q = m[s[r + 12] + 1]; t = (v2l + p) | 0; v2h = (v2h + q + (((v2l & p) | ((v2l | p) & ~t)) >>> 31)) | 0; v2l = t;
        t = v13l ^ v2l; v13l = v13h ^ v2h; v13h = t;
        t = (v8l + v13l) | 0; v8h = (v8h + v13h + (((v8l & v13l) | ((v8l | v13l) & ~t)) >>> 31)) | 0; v8l = t;
        p = v7l ^ v8l; q = v7h ^ v8h; v7l = (p >>> 24) | (q << 8); v7h = (q >>> 24) | (p << 8);
        t = (v2l + v7l) | 0; v2h = (v2h + v7h + (((v2l & v7l) | ((v2l | v7l) & ~t)) >>> 31)) | 0; v2l = t;
        p = m[s[r + 13]]; q = m[s[r + 13] + 1]; t = (v2l + p) | 0; v2h = (v2h + q + (((v2l & p) | ((v2l | p) & ~t)) >>> 31)) | 0; v2l = t;
        p = v13l ^ v2l; q = v13h ^ v2h; v13l = (p >>> 16) | (q << 16); v13h = (q >>> 16) | (p << 16);
        t = (v8l + v13l) | 0; v8h = (v8h + v13h + (((v8l & v13l) | ((v8l | v13l) & ~t)) >>> 31)) | 0; v8l = t;
        p = v7l ^ v8l; q = v7h ^ v8h; v7l = (q >>> 31) | (p << 1); v7h = (p >>> 31) | (q << 1);
        // G(3, 4, 9, 14)
        t = (v3l + v4l) | 0; v3h = (v3h + v4h + (((v3l & v4l) | ((v3l | v4l) & ~t)) >>> 31)) | 0; v3l = t;
        p = m[s[r + 14]]; q = m[s[r + 14] + 1]; t = (v3l + p) | 0; v3h = (v3h + q + (((v3l & p) | ((v3l | p) & ~t)) >>> 31)) | 0; v3l = t;
        t = v14l ^ v3l; v14l = v14h ^ v3h; v14h = t;
        t = (v9l + v14l) | 0; v9h = (v9h + v14h + (((v9l & v14l) | ((v9l | v14l) & ~t)) >>> 31)) | 0; v9l = t;
        p = v4l ^ v9l; q = v4h ^ v9h; v4l = (p >>> 24) | (q << 8); v4h = (q >>> 24) | (p << 8);
        t = (v3l + v4l) | 0; v3h = (v3h + v4h + (((v3l & v4l) | ((v3l | v4l) & ~t)) >>> 31)) | 0; v3l = t;
        p = m[s[r + 15]]; q = m[s[r + 15] + 1]; t = (v3l + p) | 0; v3h = (v3h + q + (((v3l & p) | ((v3l | p) & ~t)) >>> 31)) | 0; v3l = t;
        p = v14l ^ v3l; q = v14h ^ v3h; v14l = (p >>> 16) | (q << 16); v14h = (q >>> 16) | (p << 16);
        t = (v9l + v14l) | 0; v9h = (v9h + v14h + (((v9l & v14l) | ((v9l | v14l) & ~t)) >>> 31)) | 0; v9l = t;
        p = v4l ^ v9l; q = v4h ^ v9h; v4l = (q >>> 31) | (p << 1); v4h = (p >>> 31) | (q << 1);
      }
      h[0] ^= v0l ^ v8l; h[1] ^= v0h ^ v8h; h[2] ^= v1l ^ v9l; h[3] ^= v1h ^ v9h; h[4] ^= v2l ^ v10l; h[5] ^= v2h ^ v10h; h[6] ^= v3l ^ v11l; h[7] ^= v3h ^ v11h; h[8] ^= v4l ^ v12l; h[9] ^= v4h ^ v12h; h[10] ^= v5l ^ v13l; h[11] ^= v5h ^ v13h; h[12] ^= v6l ^ v14l; h[13] ^= v6h ^ v14h; h[14] ^= v7l ^ v15l; h[15] ^= v7h ^ v15h;
    }
  }

  function blake2b(bytes) { return new Blake2b().update(bytes).final(); }

  // ---------------------------------------------------------------------------------------------------------------
  // base64url (RFC 4648 §5, no padding) and hex

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const B64_VALUE = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

  function base64urlEncode(bytes) {
    bytes = bytesOf(bytes, 'bytes');
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
    }
    if (bytes.length - i === 1) {
      const n = bytes[i] << 16;
      out += B64[n >>> 18] + B64[(n >>> 12) & 63];
    } else if (bytes.length - i === 2) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
      out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63];
    }
    return out;
  }

  /** Strict: only the URL-safe alphabet, no padding, no whitespace, no stray low bits. */
  function base64urlDecode(text) {
    if (typeof text !== 'string') throw new TypeError('base64url input must be a string');
    if (text.length % 4 === 1) throw new SyntaxError('invalid base64url length');
    const out = new Uint8Array(Math.floor(text.length * 3 / 4));
    let acc = 0, bits = 0, o = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const value = code < 128 ? B64_VALUE[code] : -1;
      if (value < 0) throw new SyntaxError('invalid base64url character at ' + i);
      acc = ((acc << 6) | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) { bits -= 8; out[o++] = (acc >>> bits) & 0xff; }
    }
    if ((acc & ((1 << bits) - 1)) !== 0) throw new SyntaxError('invalid base64url: non-zero trailing bits');
    return out;
  }

  const HEX = '0123456789abcdef';

  function hexEncode(bytes) {
    bytes = bytesOf(bytes, 'bytes');
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] >>> 4] + HEX[bytes[i] & 15];
    return out;
  }

  function hexDecode(text) {
    if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new SyntaxError('invalid hex');
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  /** Constant-time equality of two byte arrays (of public lengths). */
  function equalBytes(a, b) {
    a = bytesOf(a, 'a'); b = bytesOf(b, 'b');
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  const api = Object.freeze({
    HEADERBYTES, KEYBYTES, ABYTES, TAG_MESSAGE, TAG_PUSH, TAG_REKEY, TAG_FINAL, CHUNK_SIZE,
    SecretStreamError,
    init_pull(header, key) { return new PullState(header, key); },
    openSecretStream, createOpener, createOpenerStream,
    Blake2b, blake2b,
    base64urlEncode, base64urlDecode, hexEncode, hexDecode, equalBytes,
  });

  if (typeof module === 'object' && module !== null && module.exports) module.exports = api;
  root.KeepsakeLinkCrypto = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

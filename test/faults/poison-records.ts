/**
 * Record values a processor cannot read, for the poison scenario (6) and the soak (9), with the
 * dead-letter code each must get (SPEC §8; runtime/kafka/decode.ts sorts them):
 *
 *   not-magic        JSON bytes, first byte not the Confluent magic 0          TRB_DECODE
 *   short            3 bytes, fewer than a frame header's 5                    TRB_DECODE
 *   cut-body         a real schema id and the first half of an Avro body       TRB_DECODE
 *   tombstone        no value at all                                           TRB_DECODE
 *   unknown-schema   a whole Avro body framed with an id the registry lacks    TRB_UNKNOWN_SCHEMA
 *   oversized        a real schema id and `size` bytes of 0xff (Avro reads a
 *                    length it cannot satisfy)                                 TRB_DECODE
 */

export const POISON_KINDS = ['not-magic', 'short', 'cut-body', 'tombstone', 'unknown-schema', 'oversized'] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

export const POISON_CODE: Record<PoisonKind, 'TRB_DECODE' | 'TRB_UNKNOWN_SCHEMA'> = {
  'not-magic': 'TRB_DECODE',
  short: 'TRB_DECODE',
  'cut-body': 'TRB_DECODE',
  tombstone: 'TRB_DECODE',
  'unknown-schema': 'TRB_UNKNOWN_SCHEMA',
  oversized: 'TRB_DECODE',
};

/** An id no registry in these tests hands out. */
export const UNKNOWN_SCHEMA_ID = 987_654_321;

/** A Confluent frame built by hand: magic 0, schema id big-endian, body. */
export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/**
 * The value of a poison record. `schemaId` is the topic's real id, `avro` a valid body of a
 * fresh event (one that would show in the view if it were ever applied), `size` the oversized
 * record's length.
 */
export function poisonValue(kind: PoisonKind, { schemaId, avro, size = 0 }: { schemaId: number; avro: Buffer; size?: number }): Buffer | null {
  switch (kind) {
    case 'not-magic':
      return Buffer.from('{"not":"avro"}', 'utf8');
    case 'short':
      return Buffer.from([0, 0, 1]);
    case 'cut-body':
      return frame(schemaId, avro.subarray(0, Math.floor(avro.length / 2)));
    case 'tombstone':
      return null;
    case 'unknown-schema':
      return frame(UNKNOWN_SCHEMA_ID, avro);
    case 'oversized': {
      const value = Buffer.alloc(Math.max(size, 5), 0xff);
      frame(schemaId, Buffer.alloc(0)).copy(value);
      return value;
    }
  }
}

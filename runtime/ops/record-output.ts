/**
 * How `consume` and `dlq show` print records (SPEC §9 `--format json|ndjson|csv`):
 *
 * - ndjson: one JSON object per line (the default: pipes into `jq`, `grep`, `wc -l`);
 * - json: one JSON array, pretty-printed, streamed element by element (so `--follow` works and
 *   memory stays flat), closed by `end()`;
 * - csv: RFC 4180 (runtime/ops/consume.ts) with a header row. Without --follow every record is
 *   held until `end()` so the header is the union of all their columns. With --follow the header
 *   is written with the first record: the columns of the topic's catalogue schema when it has one
 *   (a command's payload: the fields of every payload type; an array: one column; a map: none of
 *   its own), then the first record's other columns; a column first met later is reported once on
 *   stderr and left out — use ndjson when records vary that much.
 *
 * `write` resolves once the text is accepted by the stream (back-pressure: a slow pipe slows the
 * reader instead of filling memory).
 */
import type avro from 'avsc';
import { Columns, csvLine, csvRow, flatten } from './consume';

export const OUTPUT_FORMATS = ['ndjson', 'json', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface RecordOutput {
  write(record: Record<string, unknown>): Promise<void>;
  /** Finishes the output (closes the JSON array, writes a buffered CSV). */
  end(): Promise<void>;
}

export interface OutputOptions {
  format: OutputFormat;
  out: (text: string) => Promise<void>;
  warn: (line: string) => void;
  follow: boolean;
  /** CSV with --follow: columns known before any record (from the schema). */
  seedColumns?: readonly string[];
}

export function recordOutput(options: OutputOptions): RecordOutput {
  const { out } = options;
  switch (options.format) {
    case 'ndjson':
      return { write: (record) => out(`${JSON.stringify(record)}\n`), end: async () => undefined };
    case 'json': {
      let count = 0;
      return {
        async write(record) {
          const body = JSON.stringify(record, null, 2).replace(/\n/g, '\n  ');
          await out(`${count++ === 0 ? '[\n' : ',\n'}  ${body}`);
        },
        end: () => out(count === 0 ? '[]\n' : '\n]\n'),
      };
    }
    case 'csv':
      return options.follow ? streamingCsv(options) : bufferedCsv(options);
  }
}

function bufferedCsv({ out }: OutputOptions): RecordOutput {
  const columns = new Columns();
  const rows: Map<string, string>[] = [];
  return {
    async write(record) {
      const cells = flatten(record);
      columns.add(cells.keys());
      rows.push(cells);
    },
    async end() {
      if (rows.length === 0) return;
      const list = columns.list();
      await out(csvLine(list));
      for (const cells of rows.splice(0)) await out(csvRow(list, cells));
    },
  };
}

function streamingCsv({ out, warn, seedColumns = [] }: OutputOptions): RecordOutput {
  let columns: Columns | undefined;
  let list: string[] = [];
  const dropped = new Set<string>();
  return {
    async write(record) {
      const cells = flatten(record);
      if (!columns) {
        // The first record's columns, then the schema's it lacks (a null nested record, say).
        columns = new Columns(cells.keys());
        columns.add(seedColumns);
        list = columns.list();
        await out(csvLine(list));
      } else {
        for (const column of cells.keys()) {
          if (columns.has(column) || dropped.has(column)) continue;
          dropped.add(column);
          warn(`csv: column ${column} first appeared after the header was written; its values are left out (use --format ndjson to see them)`);
        }
      }
      await out(csvRow(list, cells));
    },
    end: async () => undefined,
  };
}

/**
 * The dotted columns a value of this Avro type flattens into, under `prefix` (e.g. `value`).
 * Records recurse; a union's record branches merge; arrays are one column; maps have no fixed
 * columns (their keys come from the data); a nullable leaf is one column.
 */
export function schemaColumns(type: avro.Type, prefix: string): string[] {
  const columns = new Columns();
  const walk = (current: avro.Type, column: string) => {
    const logical = current as unknown as { underlyingType?: avro.Type };
    if (current.typeName.startsWith('logical:') && logical.underlyingType && logical.underlyingType.typeName === 'record') {
      walk(logical.underlyingType, column);
      return;
    }
    if (current.typeName === 'record' || current.typeName === 'error') {
      for (const field of (current as avro.types.RecordType).fields) walk(field.type, `${column}.${field.name}`);
      return;
    }
    if (current.typeName.startsWith('union')) {
      const branches = (current as unknown as { types: avro.Type[] }).types.filter((t) => t.typeName !== 'null');
      const records = branches.filter((t: avro.Type) => t.typeName === 'record' || (t as unknown as { underlyingType?: avro.Type }).underlyingType?.typeName === 'record');
      if (records.length > 0 && records.length === branches.length) {
        for (const branch of records) walk(branch, column);
        return;
      }
      columns.add([column]);
      return;
    }
    if (current.typeName === 'map') return;
    columns.add([column]);
  };
  walk(type, prefix);
  return columns.list();
}

/** A write that waits for 'drain' when the stream's buffer is full. */
export function streamWriter(stream: NodeJS.WritableStream = process.stdout): (text: string) => Promise<void> {
  return (text) =>
    new Promise<void>((resolve, reject) => {
      if (stream.write(text)) return resolve();
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: NodeJS.ErrnoException) => {
        stream.off('drain', onDrain);
        // The reader went away (`| head`): the CLI stops the read (runtime/cli/main.ts), not an error.
        if (error.code === 'EPIPE') resolve();
        else reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
}

/**
 * Progress on stderr for long CLI runs: an in-place line (`\r`, cleared at the end) when stderr is
 * a terminal, otherwise one plain line at most every `everyMs` so logs stay readable. Nothing is
 * printed for a run that ends before the first report is due.
 */
export interface Progress {
  update(text: string): void;
  done(): void;
}

export function stderrProgress(everyMs = 5_000, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const interval = tty ? 200 : everyMs;
  let last = Date.now();
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      shown = true;
      stream.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
    },
    done() {
      if (tty && shown) stream.write('\r\x1b[2K');
    },
  };
}

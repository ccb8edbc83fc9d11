/**
 * Tables for people: a header, a rule, then one line per row — no rules between rows (as kcat and
 * rpk list things, so a long listing stays readable and greppable), no colours. Tables whose
 * cells wrap over several lines keep cli-table3's rules instead (render-plan, schema fields).
 */
import Table from 'cli-table3';

export function table(head: string[]): Table.Table {
  const built = new Table({
    head,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  const render = built.toString.bind(built);
  built.toString = () => {
    const lines = render().split('\n');
    // Lines: top border, header, rows…, bottom border. The header is one line (names never wrap).
    if (lines.length > 3) lines.splice(2, 0, (lines[0] as string).replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤'));
    return lines.join('\n');
  };
  return built;
}

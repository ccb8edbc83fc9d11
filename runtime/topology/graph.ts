/**
 * `topology graph`: the topology as a Mermaid flowchart (renders in GitHub/GitLab markdown) or
 * Graphviz dot. Topics are cylinders, processors hexagons, sinks parallelograms; edges run
 * input -> processor -> output, table reads are dashed, and dead-letter topics appear only when
 * asked for (they would double the picture). Pure: a Topology in, text out.
 */
import type { Topology } from './model';

export type GraphFormat = 'mermaid' | 'dot';

export interface GraphOptions {
  /** Draw the derived `<input>.dlq` topics, dotted from each reader. */
  deadLetters?: boolean;
}

interface Node {
  id: string;
  label: string;
  kind: 'topic' | 'processor' | 'sink' | 'dlq';
}

interface Edge {
  from: string;
  to: string;
  style: 'stream' | 'table' | 'dlq';
}

export function renderGraph(topology: Topology, format: GraphFormat, options: GraphOptions = {}): string {
  const { nodes, edges } = buildGraph(topology, options);
  return format === 'dot' ? toDot(nodes, edges) : toMermaid(nodes, edges);
}

function buildGraph(topology: Topology, options: GraphOptions): { nodes: Node[]; edges: Edge[] } {
  const ids = new Ids();
  const nodes: Node[] = [];
  const topicId = new Map<string, string>();
  const node = (kind: Node['kind'], label: string) => {
    const id = ids.make(`${kind === 'dlq' ? 'topic' : kind}_${label}`);
    nodes.push({ id, label, kind });
    return id;
  };
  const topic = (name: string) => {
    let id = topicId.get(name);
    if (!id) {
      id = node('topic', name);
      topicId.set(name, id);
    }
    return id;
  };
  for (const t of topology.topics) topic(t.name);

  const edges: Edge[] = [];
  const deadLetter = (reader: string, source: string) => {
    if (!options.deadLetters) return;
    const name = `${source}.dlq`;
    let id = topicId.get(name);
    if (!id) {
      id = node('dlq', name);
      topicId.set(name, id);
    }
    edges.push({ from: reader, to: id, style: 'dlq' });
  };
  for (const p of topology.processors) {
    const id = node('processor', p.name);
    for (const input of p.inputs) edges.push({ from: topic(input), to: id, style: 'stream' });
    for (const table of p.tables) edges.push({ from: topic(table), to: id, style: 'table' });
    for (const output of p.outputs) edges.push({ from: id, to: topic(output), style: 'stream' });
    for (const source of [...p.inputs, ...p.tables]) deadLetter(id, source);
  }
  for (const s of topology.sinks) {
    const id = node('sink', s.name);
    edges.push({ from: topic(s.input), to: id, style: 'stream' });
    deadLetter(id, s.input);
  }
  return { nodes, edges };
}

const MERMAID_SHAPES: Record<Node['kind'], [string, string]> = {
  topic: ['[(', ')]'],
  dlq: ['[(', ')]'],
  processor: ['{{', '}}'],
  sink: ['[/', '/]'],
};

const MERMAID_ARROWS: Record<Edge['style'], string> = { stream: '-->', table: '-. table .->', dlq: '-.->' };

function toMermaid(nodes: Node[], edges: Edge[]): string {
  const lines = ['flowchart LR'];
  for (const n of nodes) {
    const [open, close] = MERMAID_SHAPES[n.kind];
    lines.push(`  ${n.id}${open}"${n.label.replace(/"/g, '#quot;')}"${close}`);
  }
  for (const e of edges) lines.push(`  ${e.from} ${MERMAID_ARROWS[e.style]} ${e.to}`);
  const classes: Record<Node['kind'], string> = {
    topic: 'fill:#eef3ff,stroke:#4a6fa5',
    dlq: 'fill:#fff0f0,stroke:#b05050',
    processor: 'fill:#eaf7ea,stroke:#3c8a3c',
    sink: 'fill:#fff7e6,stroke:#b07a1e',
  };
  for (const kind of Object.keys(classes) as Node['kind'][]) {
    const members = nodes.filter((n) => n.kind === kind).map((n) => n.id);
    if (members.length === 0) continue;
    lines.push(`  classDef ${kind} ${classes[kind]}`);
    lines.push(`  class ${members.join(',')} ${kind}`);
  }
  return `${lines.join('\n')}\n`;
}

const DOT_SHAPES: Record<Node['kind'], string> = {
  topic: 'shape=cylinder',
  dlq: 'shape=cylinder, color=firebrick',
  processor: 'shape=hexagon',
  sink: 'shape=parallelogram',
};

const DOT_EDGES: Record<Edge['style'], string> = { stream: '', table: ' [style=dashed, label="table"]', dlq: ' [style=dotted, color=firebrick]' };

function toDot(nodes: Node[], edges: Edge[]): string {
  const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['digraph tributary {', '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  for (const n of nodes) lines.push(`  ${n.id} [label=${quote(n.label)}, ${DOT_SHAPES[n.kind]}];`);
  for (const e of edges) lines.push(`  ${e.from} -> ${e.to}${DOT_EDGES[e.style]};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** Identifiers both Mermaid and dot accept, unique even when two names sanitize alike. */
class Ids {
  private readonly used = new Set<string>();

  make(name: string): string {
    const base = name.replace(/[^A-Za-z0-9_]/g, '_');
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}

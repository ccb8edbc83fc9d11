import { describe, expect, it } from 'vitest';
import { renderGraph } from './graph';
import { parseTopologyOrThrow } from './load';

const topology = parseTopologyOrThrow(
  `version: 1
topics:
  a.in: {schema: none}
  b.in: {schema: none}
  items: {schema: none}
  out: {schema: none}
processors:
  join:
    inputs: [a.in, b.in]
    tables: [items]
    outputs: [out]
sinks:
  deliver:
    input: out
`,
  { env: {} },
);

describe('renderGraph', () => {
  it('draws a Mermaid flowchart: topics as cylinders, processors as hexagons, sinks as parallelograms, tables dashed', () => {
    expect(renderGraph(topology, 'mermaid')).toBe(`flowchart LR
  topic_a_in[("a.in")]
  topic_b_in[("b.in")]
  topic_items[("items")]
  topic_out[("out")]
  processor_join{{"join"}}
  sink_deliver[/"deliver"/]
  topic_a_in --> processor_join
  topic_b_in --> processor_join
  topic_items -. table .-> processor_join
  processor_join --> topic_out
  topic_out --> sink_deliver
  classDef topic fill:#eef3ff,stroke:#4a6fa5
  class topic_a_in,topic_b_in,topic_items,topic_out topic
  classDef processor fill:#eaf7ea,stroke:#3c8a3c
  class processor_join processor
  classDef sink fill:#fff7e6,stroke:#b07a1e
  class sink_deliver sink
`);
  });

  it('draws dot with the same nodes and edges', () => {
    expect(renderGraph(topology, 'dot')).toBe(`digraph tributary {
  rankdir=LR;
  node [fontname="Helvetica"];
  topic_a_in [label="a.in", shape=cylinder];
  topic_b_in [label="b.in", shape=cylinder];
  topic_items [label="items", shape=cylinder];
  topic_out [label="out", shape=cylinder];
  processor_join [label="join", shape=hexagon];
  sink_deliver [label="deliver", shape=parallelogram];
  topic_a_in -> processor_join;
  topic_b_in -> processor_join;
  topic_items -> processor_join [style=dashed, label="table"];
  processor_join -> topic_out;
  topic_out -> sink_deliver;
}
`);
  });

  it('adds dead-letter topics only when asked', () => {
    expect(renderGraph(topology, 'mermaid')).not.toContain('.dlq');
    const withDlq = renderGraph(topology, 'mermaid', { deadLetters: true });
    for (const source of ['a.in', 'b.in', 'items']) expect(withDlq).toContain(`[("${source}.dlq")]`);
    expect(withDlq).toContain('processor_join -.-> topic_a_in_dlq');
    expect(withDlq).toContain('sink_deliver -.-> topic_out_dlq');
  });

  it('keeps ids unique when two names sanitize alike', () => {
    const clash = parseTopologyOrThrow('version: 1\ntopics:\n  a.b: {schema: none}\n  a_b: {schema: none}\n', { env: {} });
    expect(renderGraph(clash, 'dot')).toContain('topic_a_b [label="a.b"');
    expect(renderGraph(clash, 'dot')).toContain('topic_a_b_2 [label="a_b"');
  });
});

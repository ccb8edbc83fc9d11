/**
 * `tributary schemas list | show <subject> | check` (SPEC §9): the catalogue (schemas/*.avsc)
 * next to what the registry holds. Only the registry is needed (SCHEMA_REGISTRY_URL, else the
 * local stack's), so `schemas check` runs as a CI gate before an .avsc change is merged: exit 1
 * with TRB_SCHEMA_INCOMPATIBLE when a local schema would be refused, 0 otherwise. Reads only;
 * registering is `topology apply`'s job. Comparisons and rendering are in runtime/ops/schemas.ts.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolveRegistryUrl } from '../../config/connection';
import { TributaryError } from '../../errors';
import {
  checkResult,
  incompatibleError,
  localState,
  renderCheck,
  renderListTable,
  renderShow,
  resolveSubject,
  subjectForTopic,
  type CheckResult,
  type SubjectRow,
} from '../../ops/schemas';
import { namingFromEnv, type Naming } from '../../processor/naming';
import { DEFAULT_SCHEMAS_DIR, loadCatalogue, type Catalogue } from '../../schemas/catalogue';
import { subjectsClient, type SubjectsClient } from '../../topology/subjects';
import { topicPrefixOption } from './topology';

interface CommonFlags {
  format: 'table' | 'json';
  topicPrefix?: string;
  schemasDir: string;
}

function common(command: Command): Command {
  return command
    .addOption(new Option('--format <format>', 'output: table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addOption(topicPrefixOption())
    .addOption(new Option('--schemas-dir <dir>', 'the local catalogue: a directory of .avsc files').default(DEFAULT_SCHEMAS_DIR, 'the shipped schemas/'));
}

function setup(flags: CommonFlags): { catalogue: Catalogue; naming: Naming; client: SubjectsClient } {
  const catalogue = loadCatalogue(flags.schemasDir);
  const naming = namingFromEnv(process.env, flags.topicPrefix);
  return { catalogue, naming, client: subjectsClient(resolveRegistryUrl()) };
}

/** One row per catalogue topic: its subject's versions, latest id, level, and the local schema's standing. */
export async function listSubjects(catalogue: Catalogue, naming: Naming, client: SubjectsClient): Promise<SubjectRow[]> {
  return Promise.all(
    catalogue.topics().map(async (entry) => {
      const subject = subjectForTopic(entry.topic, naming);
      const [versions, compatibility] = await Promise.all([client.versions(subject), client.compatibilityLevel(subject)]);
      const [latest, lookedUp] =
        versions.length === 0 ? [null, undefined] : await Promise.all([client.version(subject, 'latest'), client.lookup(subject, entry.schema)]);
      return {
        topic: entry.topic,
        subject,
        kind: entry.kind,
        key: entry.key,
        from: [...entry.from],
        versions: [...versions].sort((a, b) => a - b),
        latest: latest && { version: latest.version, id: latest.id },
        compatibility: compatibility ?? null,
        ...localState(entry.schema, latest, lookedUp),
      };
    }),
  );
}

/** The registry's verdict on every catalogue schema at its subject's configured level. */
export async function checkSubjects(catalogue: Catalogue, naming: Naming, client: SubjectsClient): Promise<CheckResult[]> {
  return Promise.all(
    catalogue.topics().map(async (entry) => {
      const subject = subjectForTopic(entry.topic, naming);
      const [versions, compatibility] = await Promise.all([client.versions(subject), client.compatibilityLevel(subject)]);
      // A subject without versions has nothing to be compatible with (and Confluent answers 404).
      const verdict = versions.length === 0 ? null : await client.checkCompatibility(subject, entry.schema);
      return checkResult({ topic: entry.topic, subject }, versions, compatibility ?? null, verdict);
    }),
  );
}

function versionNumber(value: string): number {
  const version = Number(value);
  if (!Number.isInteger(version) || version < 1) throw new InvalidArgumentError('expected a version number (1, 2, ...)');
  return version;
}

export function register(program: Command): void {
  const schemas = program
    .command('schemas')
    .description('the schema catalogue (schemas/*.avsc) next to the registry: list, show a subject, check compatibility');

  common(
    schemas
      .command('list')
      .description('every catalogue topic with its subject (<prefix><topic>-value), kind, key, producers, and in the registry: latest version and id, number of versions, compatibility level, and whether the local schema is the registered latest'),
  )
    .addHelpText('after', '\nExample:\n  tributary schemas list --topic-prefix staging. --format json\n')
    .action(async (flags: CommonFlags) => {
      const { catalogue, naming, client } = setup(flags);
      const rows = await listSubjects(catalogue, naming, client);
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderListTable(rows));
    });

  common(
    schemas
      .command('show')
      .argument('<subject>', 'a subject, or a catalogue topic (order.created means <prefix>order.created-value)')
      .description('the versions of a subject (version, schema id), the latest schema (or --schema-version N) pretty-printed, and its fields table; --format json prints the schema as registered')
      .addOption(new Option('--schema-version <n>', 'show this version instead of the latest').argParser(versionNumber)),
  )
    .addHelpText('after', '\nExamples:\n  tributary schemas show order.created\n  tributary schemas show order.created-value --schema-version 1 --format json | jq .fields\n')
    .action(async (name: string, flags: CommonFlags & { schemaVersion?: number }) => {
      const { catalogue, naming, client } = setup(flags);
      const { subject, topic } = resolveSubject(name, catalogue.topics().map((t) => t.topic), naming);
      const versions = [...(await client.versions(subject))].sort((a, b) => a - b);
      if (versions.length === 0) {
        throw new TributaryError('TRB_NOT_FOUND', `subject ${subject} has no versions in the registry (\`tributary topology apply\` registers the catalogue; \`tributary schemas list\` shows the subjects)`);
      }
      const wanted = flags.schemaVersion ?? versions[versions.length - 1]!;
      if (!versions.includes(wanted)) {
        throw new TributaryError('TRB_NOT_FOUND', `subject ${subject} has no version ${wanted} (versions: ${versions.join(', ')})`);
      }
      const [all, compatibility] = await Promise.all([Promise.all(versions.map((v) => client.version(subject, v))), client.compatibilityLevel(subject)]);
      const shown = all.find((v) => v.version === wanted)!;
      if (flags.format === 'json') {
        process.stdout.write(`${shown.schema}\n`);
        return;
      }
      process.stdout.write(
        renderShow({ subject, topic, compatibility: compatibility ?? null, versions: all.map(({ version, id }) => ({ version, id })), shown }),
      );
    });

  common(
    schemas
      .command('check')
      .description('ask the registry whether each local .avsc is compatible with its subject at the subject\'s configured level (every version for a _TRANSITIVE level): compatible, incompatible (with the registry\'s reasons) or new; exits 1 (TRB_SCHEMA_INCOMPATIBLE) if any is incompatible — the gate to run before merging a schema change'),
  )
    .addHelpText('after', '\nExamples:\n  SCHEMA_REGISTRY_URL=https://registry.example.com tributary schemas check\n  tributary schemas check --schemas-dir ./schemas --topic-prefix staging.\nExit codes: 0 every schema compatible or new, 1 one is incompatible (TRB_SCHEMA_INCOMPATIBLE), 2 usage or an unreadable .avsc, 3 registry unreachable.\n')
    .action(async (flags: CommonFlags) => {
      const { catalogue, naming, client } = setup(flags);
      const results = await checkSubjects(catalogue, naming, client);
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(results, null, 2)}\n` : renderCheck(results));
      const error = incompatibleError(results);
      if (error) throw error;
    });
}

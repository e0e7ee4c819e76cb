// docs/operators.md's configuration table, written from config-schema.ts: `npm run docs:config` rewrites
// it in place, and config-docs.spec.ts fails while the file differs from what this would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configVariables } from './app-config';

export const OPERATORS_DOC = join(__dirname, '..', '..', 'docs', 'operators.md');
const BEGIN =
  '<!-- configuration table: written by `npm run docs:config` from src/config/config-schema.ts -->';
const END = '<!-- end of configuration table -->';

/** One row per variable, in the schema's order. */
export function configTable(): string {
  const rows = configVariables().map(
    (variable) => `| \`${variable.env}\` | ${variable.doc} | ${variable.defaultDoc} |`,
  );
  return ['| variable | meaning | default |', '|---|---|---|', ...rows].join('\n');
}

/** `markdown` with the table between its markers replaced by configTable(). */
export function withConfigTable(markdown: string): string {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (begin === -1 || end < begin) {
    throw new Error(
      `docs/operators.md must hold the lines\n${BEGIN}\n${END}\naround its configuration table`,
    );
  }
  return `${markdown.slice(0, begin)}${BEGIN}\n${configTable()}\n${markdown.slice(end)}`;
}

if (require.main === module) {
  const markdown = readFileSync(OPERATORS_DOC, 'utf8');
  const written = withConfigTable(markdown);
  if (written !== markdown) writeFileSync(OPERATORS_DOC, written);
  process.stdout.write(
    written === markdown
      ? 'docs/operators.md: the configuration table is up to date\n'
      : 'docs/operators.md: configuration table written\n',
  );
}

// The configuration table operators read (docs/operators.md, "Configuration") is written from the schema
// the service validates its environment with; this spec fails while the file differs, and holds the
// schema to what loadConfig actually reads.
import { readFileSync } from 'node:fs';
import { configVariables, loadConfig } from './app-config';
import { configTable, OPERATORS_DOC, withConfigTable } from './config-docs';

const VARIABLE = /^[A-Z][A-Z0-9_]*$/;
const variables = configVariables();
const names = variables.map((variable) => variable.env);

describe('the configuration table in docs/operators.md', () => {
  it('is what `npm run docs:config` writes from the schema', () => {
    const markdown = readFileSync(OPERATORS_DOC, 'utf8');
    // Run `npm run docs:config` after changing src/config/config-schema.ts.
    expect(withConfigTable(markdown)).toBe(markdown);
  });

  it('has one row per variable, each with its meaning and default', () => {
    const rows = configTable().split('\n').slice(2);
    expect(rows).toHaveLength(names.length);
    expect(rows[0]).toBe(
      '| `NODE_ENV` | `production` demands every secret below and turns the sandbox off | `development` |',
    );
    for (const variable of variables) {
      expect(variable.doc.trim()).not.toBe('');
      expect(variable.defaultDoc.trim()).not.toBe('');
      // A cell with a pipe would split the row.
      expect(`${variable.doc}${variable.defaultDoc}`).not.toContain('|');
    }
  });

  it('names each variable once, as an environment variable is spelled', () => {
    // A schema that declared nothing would make every other check here vacuous.
    expect(names.length).toBeGreaterThan(30);
    expect(names.filter((name) => !VARIABLE.test(name))).toEqual([]);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('shows a plain default as the value it is', () => {
    for (const variable of variables) {
      if (variable.developmentDefault !== undefined || typeof variable.default === 'function') continue;
      const value = variable.default;
      if (value === null || (Array.isArray(value) && value.length === 0)) {
        expect([variable.env, variable.defaultDoc]).toEqual([variable.env, expect.stringContaining('none')]);
      } else {
        expect([variable.env, variable.defaultDoc]).toEqual([
          variable.env,
          `\`${JSON.stringify(value).replace(/"/g, '')}\``,
        ]);
      }
    }
  });
});

describe('loadConfig', () => {
  it('reads every variable of the schema and nothing else', () => {
    const read = new Set<string>();
    const env = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === 'string') read.add(name);
          return undefined;
        },
      },
    );
    loadConfig(env);
    expect([...read].sort()).toEqual([...names].sort());
  });
});

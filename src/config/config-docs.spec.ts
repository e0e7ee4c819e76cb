// The configuration table operators read (docs/operators.md, "Configuration") against the variables
// app-config.ts reads: both directions, so neither a new variable nor a removed one can drift apart.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

const SOURCE = join(__dirname, 'app-config.ts');
const DOCS = join(__dirname, '..', '..', 'docs', 'operators.md');

// app-config.ts's helpers that read one variable, and the position of the variable's name among their
// arguments: read(env, name), parseInteger(env, name, …), required(name, …), …
const READERS: Readonly<Record<string, number>> = {
  read: 1,
  parseInteger: 1,
  parseBoolean: 1,
  parseUrl: 1,
  parseOrigins: 1,
  required: 0,
};

const VARIABLE = /^[A-Z][A-Z0-9_]*$/;

interface SourceScan {
  /** Every variable named by a string literal in a reader's name position. */
  variables: Set<string>;
  /** Which of READERS the file declares (a function or a const). */
  declared: Set<string>;
  /** Places that index the environment directly, outside `read`. */
  directReads: string[];
}

function scanSource(text: string): SourceScan {
  const file = ts.createSourceFile(SOURCE, text, ts.ScriptTarget.Latest, true);
  const scan: SourceScan = { variables: new Set(), declared: new Set(), directReads: [] };
  const enclosingFunction = (node: ts.Node): string | undefined => {
    for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
      if (ts.isFunctionDeclaration(at)) return at.name?.text;
    }
    return undefined;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionDeclaration(node) && node.name && node.name.text in READERS) {
      scan.declared.add(node.name.text);
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text in READERS) {
      scan.declared.add(node.name.text);
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text in READERS) {
      const name = node.arguments[READERS[node.expression.text]];
      if (name && ts.isStringLiteralLike(name)) scan.variables.add(name.text);
    }
    // env[…] anywhere but inside read(): a variable read past the helpers, which this spec would miss.
    if (
      ts.isElementAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'env' &&
      enclosingFunction(node) !== 'read'
    ) {
      scan.directReads.push(node.getText(file));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return scan;
}

/** The variables named in the first cell of each row of the "## Configuration" section's table. */
function documentedVariables(markdown: string): string[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(markdown);
  if (!section) throw new Error('docs/operators.md has no "## Configuration" section');
  const names: string[] = [];
  for (const line of section[1].split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const [, name] of firstCell.matchAll(/`([^`]+)`/g)) {
      if (VARIABLE.test(name)) names.push(name);
    }
  }
  return names;
}

const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe('the configuration table in docs/operators.md', () => {
  const scan = scanSource(readFileSync(SOURCE, 'utf8'));
  const read = new Set([...scan.variables, 'NODE_ENV']);
  const documented = documentedVariables(readFileSync(DOCS, 'utf8'));

  it("finds app-config.ts's readers, and every variable is read through them", () => {
    expect(sorted(scan.declared)).toEqual(sorted(Object.keys(READERS)));
    expect(scan.directReads).toEqual([]);
    // A scan that found nothing would make the comparisons below vacuous.
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((name) => !VARIABLE.test(name))).toEqual([]);
  });

  it('lists every variable the code reads', () => {
    const documentedSet = new Set(documented);
    expect(sorted([...read].filter((name) => !documentedSet.has(name)))).toEqual([]);
  });

  it('lists no variable the code does not read', () => {
    expect(sorted(documented.filter((name) => !read.has(name)))).toEqual([]);
  });

  it('lists each variable once', () => {
    expect(documented.filter((name, index) => documented.indexOf(name) !== index)).toEqual([]);
  });
});

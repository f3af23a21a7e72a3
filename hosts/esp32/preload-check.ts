// What the Moddable build's preload demands of our modules, checked on their TypeScript (part of
// `npm run check:esp32`). The manifest preloads modules/ and hosts/esp32: the SDK's XS linker runs
// their bodies at build time and puts what they made in flash. Per Moddable's "XS linker warnings"
// and "Using XS Preload" documents (SDK 8.2.3):
//
//   - a RegExp cannot be preloaded (the linker stops with an error): no regular expression may be
//     made while a module body runs (module constants, static fields, top-level IIFEs);
//   - preloaded Map, Set, WeakMap, WeakSet, Date, DataView, ArrayBuffer and typed array instances
//     are immutable (their mutators and indexed stores throw): one made while a module body runs
//     must never be written. Passing one to a function counts as a write unless its declaration
//     says `preload: read-only` in a comment;
//   - classes are frozen functions: their static properties are read-only after the body ran;
//   - the built-ins are frozen, so an assignment to a property that a built-in prototype defines
//     (`this.name = "X"` in an Error subclass) throws at run time: the override mistake.
//
// Module-level `let` bindings and plain objects and arrays stay writable (XS aliases them in RAM):
// allowed, but each costs RAM, and xsl warns about it; checkAliases (below) reports them.

import ts from "typescript";

export interface PreloadProblem {
  file: string;
  line: number;
  message: string;
}

const IMMUTABLE_WHEN_PRELOADED = new Set([
  "Map", "Set", "WeakMap", "WeakSet", "Date", "DataView", "ArrayBuffer",
  "Uint8Array", "Int8Array", "Uint8ClampedArray", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
]);
const MUTATORS = new Set([
  "set", "fill", "copyWithin", "reverse", "sort", "add", "delete", "clear",
  "setInt8", "setUint8", "setInt16", "setUint16", "setInt32", "setUint32", "setFloat32", "setFloat64", "setBigInt64", "setBigUint64",
  "setDate", "setFullYear", "setHours", "setMilliseconds", "setMinutes", "setMonth", "setSeconds", "setTime",
  "setUTCDate", "setUTCFullYear", "setUTCHours", "setUTCMilliseconds", "setUTCMinutes", "setUTCMonth", "setUTCSeconds",
  "resize", "transfer",
]);
/** Data properties of built-in prototypes (Error.prototype.name and .message, Object.prototype's
 * methods) that code may try to give an object of its own by assignment. */
const PROTOTYPE_DATA = new Set(["name", "message", "toString", "toLocaleString", "valueOf", "constructor", "toJSON"]);
const READ_ONLY_MARK = /preload: read-only/;

function isFunctionLike(n: ts.Node): n is ts.FunctionExpression | ts.ArrowFunction {
  return ts.isFunctionExpression(n) || ts.isArrowFunction(n);
}

function unparen(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e)) e = e.expression;
  return e;
}

/** Visits what runs while the module body runs: top-level statements and expressions, static
 * field initializers and static blocks, bodies of functions called right there (IIFEs); not the
 * bodies of functions, methods and constructors that only run later. */
function visitLoadTime(sf: ts.SourceFile, visit: (n: ts.Node) => void): void {
  const walk = (n: ts.Node): void => {
    visit(n);
    if (ts.isCallExpression(n) && isFunctionLike(unparen(n.expression))) {
      const f = unparen(n.expression) as ts.FunctionExpression | ts.ArrowFunction;
      walk(f.body);
      n.arguments.forEach(walk);
      return;
    }
    if (ts.isFunctionDeclaration(n) || isFunctionLike(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) ||
        ts.isGetAccessor(n) || ts.isSetAccessor(n)) return;
    if (ts.isClassDeclaration(n) || ts.isClassExpression(n)) {
      for (const m of n.members) {
        const isStatic = ts.canHaveModifiers(m) && (ts.getModifiers(m) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
        if (ts.isPropertyDeclaration(m) && isStatic && m.initializer) walk(m.initializer);
        if (ts.isClassStaticBlockDeclaration(m)) walk(m.body);
      }
      n.heritageClauses?.forEach(walk);
      return;
    }
    if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n)) return;
    ts.forEachChild(n, walk);
  };
  sf.statements.forEach(walk);
}

function typeName(checker: ts.TypeChecker, node: ts.Node): string | undefined {
  const t = checker.getTypeAtLocation(node);
  const s = t.getSymbol() ?? t.aliasSymbol;
  return s?.getName();
}

/** The given files, type-checked as mcconfig's tsc sees them, each with a report() for its problems. */
function wantedSources(files: readonly string[], options: ts.CompilerOptions) {
  const program = ts.createProgram([...files], {
    target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts"], module: ts.ModuleKind.Preserve,
    moduleResolution: ts.ModuleResolutionKind.Bundler, strict: true, noEmit: true, types: [], skipLibCheck: true, ...options,
  });
  const problems: PreloadProblem[] = [];
  const wanted = new Set(files.map((f) => ts.sys.resolvePath(f)));
  const sources = program.getSourceFiles()
    .filter((sf) => wanted.has(ts.sys.resolvePath(sf.fileName)))
    .map((sf) => ({
      sf,
      report: (n: ts.Node, message: string) =>
        problems.push({ file: sf.fileName, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1, message }),
    }));
  return { program, checker: program.getTypeChecker(), problems, sources };
}

export function checkPreload(files: readonly string[], options: ts.CompilerOptions = {}): PreloadProblem[] {
  const { program, checker, problems, sources } = wantedSources(files, options);
  for (const { sf, report } of sources) {

    // Module-level bindings (and static fields) that hold a preloaded immutable instance.
    const immutable = new Map<ts.Symbol, { name: string; kind: string; readOnly: boolean }>();
    const consider = (nameNode: ts.Node, name: string, init: ts.Expression | undefined, declNode: ts.Node) => {
      if (!init) return;
      const kind = typeName(checker, init);
      if (!kind || !IMMUTABLE_WHEN_PRELOADED.has(kind)) return;
      const sym = checker.getSymbolAtLocation(nameNode);
      if (!sym) return;
      const text = sf.text.slice(declNode.getFullStart(), declNode.getEnd());
      immutable.set(sym, { name, kind, readOnly: READ_ONLY_MARK.test(text) });
    };
    for (const st of sf.statements) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) consider(d.name, d.name.text, d.initializer, st);
      }
      if (ts.isClassDeclaration(st)) {
        for (const m of st.members) {
          const isStatic = (ts.getModifiers(m as ts.PropertyDeclaration) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
          if (ts.isPropertyDeclaration(m) && isStatic && ts.isIdentifier(m.name)) consider(m.name, `${st.name?.text}.${m.name.text}`, m.initializer, m);
        }
      }
    }

    // RegExps made at load time.
    visitLoadTime(sf, (n) => {
      if (ts.isRegularExpressionLiteral(n)) report(n, `a regular expression made while the module body runs cannot be preloaded (move ${n.getText(sf)} into the function that uses it)`);
      if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === "RegExp") report(n, "new RegExp while the module body runs cannot be preloaded");
    });

    // Writes to preloaded immutable instances, and to static properties of classes, anywhere.
    const classOf = (e: ts.Expression): ts.Symbol | undefined => {
      const s = checker.getSymbolAtLocation(e);
      const target = s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return target && target.flags & ts.SymbolFlags.Class ? target : undefined;
    };
    const inStaticMethod = (n: ts.Node): boolean => {
      for (let p: ts.Node | undefined = n.parent; p; p = p.parent) {
        if (ts.isMethodDeclaration(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) {
          return (ts.getModifiers(p) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
        }
        if (ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isConstructorDeclaration(p) || ts.isClassStaticBlockDeclaration(p)) return false;
      }
      return false;
    };
    const isAssignmentTarget = (n: ts.Node): boolean => {
      const p = n.parent;
      if (ts.isBinaryExpression(p) && p.left === n && p.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && p.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return true;
      if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && (p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken)) return true;
      return false;
    };
    const walk = (n: ts.Node): void => {
      if (ts.isIdentifier(n)) {
        const sym = checker.getSymbolAtLocation(n);
        const info = sym && immutable.get(sym);
        const p = n.parent;
        const isDeclName = (ts.isVariableDeclaration(p) || ts.isPropertyDeclaration(p)) && p.name === n;
        if (info && !isDeclName) {
          // The reference itself, or Class.name for a static field.
          let ref: ts.Expression = ts.isPropertyAccessExpression(p) && p.name === n ? p : n;
          // Through parentheses, conditionals and views (x.subarray(...) writes x).
          for (;;) {
            const q = ref.parent;
            if (ts.isParenthesizedExpression(q) || (ts.isConditionalExpression(q) && q.condition !== ref)) ref = q;
            else if (ts.isPropertyAccessExpression(q) && q.expression === ref && q.name.text === "subarray" && ts.isCallExpression(q.parent)) ref = q.parent;
            else break;
          }
          const up = ref.parent;
          if (ts.isElementAccessExpression(up) && up.expression === ref && isAssignmentTarget(up)) {
            report(up, `${info.name} (a ${info.kind} made while the module body runs) is written: preloaded, it is read-only (make it on first use)`);
          } else if (ts.isPropertyAccessExpression(up) && up.expression === ref && MUTATORS.has(up.name.text) && ts.isCallExpression(up.parent) && up.parent.expression === up) {
            report(up, `${info.name}.${up.name.text}(): ${info.name} is a ${info.kind} made while the module body runs: preloaded, it is read-only (make it on first use)`);
          } else if (!info.readOnly && ts.isCallExpression(up) && up.arguments.includes(ref)) {
            report(ref, `${info.name} (a ${info.kind} made while the module body runs) is passed to a function that may write it: preloaded, it is read-only (make it on first use, or say "preload: read-only" at its declaration)`);
          }
        }
      }
      if (ts.isPropertyAccessExpression(n) && isAssignmentTarget(n) && PROTOTYPE_DATA.has(n.name.text)) {
        // The override mistake: an assignment that would create an own property where a frozen
        // built-in prototype has a data property of that name throws instead (this.name = "X" in an
        // Error subclass: "set name: not writable").
        const decls = checker.getSymbolAtLocation(n.name)?.declarations ?? [];
        if (decls.length > 0 && decls.every((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()))) {
          report(n, `${n.getText(sf)} = ...: assigns over a property of a built-in prototype, which the XS linker freezes (the override mistake: it throws "not writable"); define it on the class prototype (a getter) or with Object.defineProperty`);
        }
      }
      if (ts.isPropertyAccessExpression(n) && isAssignmentTarget(n)) {
        if (n.expression.kind !== ts.SyntaxKind.ThisKeyword && classOf(n.expression)) report(n, `${n.getText(sf)} is a static property: preloaded classes are frozen`);
        else if (n.expression.kind === ts.SyntaxKind.ThisKeyword && inStaticMethod(n)) report(n, `${n.getText(sf)} in a static method writes a static property: preloaded classes are frozen`);
      }
      ts.forEachChild(n, walk);
    };
    walk(sf);
  }
  return problems;
}

/** A module of the build as the SDK's preload filter sees it: its name (target without ".xsb") and
 * whether its source is JavaScript. */
export interface BuildModule {
  name: string;
  javascript: boolean;
}

/** The modules the Moddable SDK 8.2.3 preload filter (tools/mcconfig.js `filterPreload`) selects for
 * a manifest's "preload" list: a pattern with a "*" is cut at the star and compared with the same
 * number of leading characters of the targets of *JavaScript* modules only (so `modules/ssh/*`
 * selects no TypeScript module, silently); a pattern without one must equal a module's name, of a
 * .js or a .ts module alike. Returns the selected names and the patterns that selected nothing. */
export function sdkPreloadFilter(patterns: readonly string[], modules: readonly BuildModule[]): { selected: Set<string>; unmatched: string[] } {
  const selected = new Set<string>();
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const star = pattern.lastIndexOf("*");
    let hit = false;
    for (const m of modules) {
      const target = `${m.name}.xsb`;
      const ok = star >= 0 ? m.javascript && target.slice(0, star) === pattern.slice(0, star) : target === `${pattern}.xsb`;
      if (ok) {
        selected.add(m.name);
        hit = true;
      }
    }
    if (!hit) unmatched.push(pattern);
  }
  return { selected, unmatched };
}

/** The mark that keeps a module-level binding or object deliberately writable (state the module
 * must keep between calls), with the reason after it: `preload: RAM alias (why)`. */
const ALIAS_MARK = /preload: RAM alias\b/;

function unwrap(e: ts.Expression): ts.Expression {
  for (;;) {
    if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
    else return e;
  }
}

function isObjectFreeze(e: ts.Expression): e is ts.CallExpression {
  return ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && ts.isIdentifier(e.expression.expression) &&
    e.expression.expression.text === "Object" && e.expression.name.text === "freeze";
}

/**
 * What xsl (SDK 8.2.3, xslSlot.c fxCheckAliases) warns about once the modules are preloaded, found
 * on the TypeScript: each costs a RAM copy (an alias) of something the preload would otherwise keep
 * in flash. npm run check:moddable sees the real warnings; this keeps npm test catching them.
 *
 *   - "not frozen": a module-level (or static) object or array literal not passed to Object.freeze,
 *     and a literal nested in a frozen one that is not frozen itself;
 *   - "no const": a module-level `let` or `var`; a parameter of a function that this module calls
 *     while its body runs, captured by a function made inside it (the table entries' methods):
 *     rebind it as a const and capture that.
 *
 * A declaration whose comment says `preload: RAM alias (reason)` is left alone.
 */
export function checkAliases(files: readonly string[], options: ts.CompilerOptions = {}): PreloadProblem[] {
  const { checker, problems, sources } = wantedSources(files, options);
  for (const { sf, report } of sources) {
    const marked = (n: ts.Node) => ALIAS_MARK.test(sf.text.slice(n.getFullStart(), n.getEnd()));

    // Literals that stay writable: `what` names the binding for the message.
    const literals = (init: ts.Expression, what: string, frozen: boolean): void => {
      const e = unwrap(init);
      if (isObjectFreeze(e)) {
        if (e.arguments[0]) literals(e.arguments[0], what, true);
        return;
      }
      if (ts.isObjectLiteralExpression(e) || ts.isArrayLiteralExpression(e)) {
        if (!frozen) {
          report(e, `${what}: an object made while the module body runs and not frozen: xsl keeps it in RAM as an alias ("not frozen"); wrap it in Object.freeze (or mark it "preload: RAM alias (reason)")`);
          return;
        }
        const parts = ts.isObjectLiteralExpression(e)
          ? e.properties.flatMap((p) => (ts.isPropertyAssignment(p) ? [[p.initializer, `${what}.${p.name.getText(sf)}`] as const] : []))
          : e.elements.map((el, i) => [el, `${what}[${i}]`] as const);
        for (const [v, name] of parts) literals(v, name, false);
      }
    };

    for (const st of sf.statements) {
      if (ts.isVariableStatement(st)) {
        if (marked(st)) continue;
        const isConst = (st.declarationList.flags & ts.NodeFlags.Const) !== 0;
        for (const d of st.declarationList.declarations) {
          const name = d.name.getText(sf);
          if (!isConst) report(d, `${name}: a module-level ${st.declarationList.flags & ts.NodeFlags.Let ? "let" : "var"}: xsl keeps it in RAM as an alias ("no const"); make it const, or keep the state in an instance`);
          else if (d.initializer) literals(d.initializer, name, false);
        }
      }
      if (ts.isClassDeclaration(st)) {
        for (const m of st.members) {
          const isStatic = (ts.getModifiers(m as ts.PropertyDeclaration) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
          if (ts.isPropertyDeclaration(m) && isStatic && m.initializer && !marked(m)) literals(m.initializer, `${st.name?.text}.${m.name.getText(sf)}`, false);
        }
      }
    }

    // Functions of this module called while its body runs (factories of table entries).
    const loadCalls = new Set<ts.Symbol>();
    visitLoadTime(sf, (n) => {
      if (ts.isCallExpression(n) && ts.isIdentifier(n.expression)) {
        const s = checker.getSymbolAtLocation(n.expression);
        if (s) loadCalls.add(s);
      }
    });
    for (const st of sf.statements) {
      if (!ts.isFunctionDeclaration(st) || !st.name || !st.body || marked(st)) continue;
      const fsym = checker.getSymbolAtLocation(st.name);
      if (!fsym || !loadCalls.has(fsym)) continue;
      const params = new Map<ts.Symbol, string>();
      for (const p of st.parameters) {
        if (ts.isIdentifier(p.name)) {
          const s = checker.getSymbolAtLocation(p.name);
          if (s) params.set(s, p.name.text);
        }
      }
      const captured = new Set<string>();
      const inner = (n: ts.Node, nested: boolean): void => {
        if (nested && ts.isIdentifier(n)) {
          const s = ts.isShorthandPropertyAssignment(n.parent) && n.parent.name === n ? checker.getShorthandAssignmentValueSymbol(n.parent) : checker.getSymbolAtLocation(n);
          const name = s && params.get(s);
          if (name) captured.add(name);
        }
        const fn = ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);
        ts.forEachChild(n, (c) => inner(c, nested || fn));
      };
      inner(st.body, false);
      for (const name of captured) {
        report(st, `${st.name.text}(): parameter ${name} is captured by a function made inside it, and ${st.name.text}() runs while the module body runs: xsl keeps the parameter in RAM as an alias ("no const"); rebind it as a const and capture that`);
      }
    }
  }
  return problems;
}

import { validationErrors, type ValidationCode } from '../errors/validation.ts';

/** Line and column are 1-based, as editors and `path:line:col` links expect. */
export interface Position {
  line: number;
  column: number;
}

/** One located problem; `name` is the manifest's metadata.name when it could be read. */
export interface Problem extends Position {
  file: string;
  code: ValidationCode;
  message: string;
  hint: string;
  name?: string;
}

export function problem(
  code: ValidationCode,
  file: string,
  at: Position,
  values: Record<string, string | number> = {},
): Problem {
  return {
    file,
    line: at.line,
    column: at.column,
    code,
    message: validationErrors.message(code, values),
    hint: validationErrors.hint(code, values),
  };
}

export function compareProblems(a: Problem, b: Problem): number {
  return (
    a.file.localeCompare(b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    a.code.localeCompare(b.code) ||
    a.message.localeCompare(b.message)
  );
}

/** The first line is exactly `path:line:col CODE message`, so editors and CI annotate it. */
export function formatText(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.code} ${p.message}\n  hint: ${p.hint}\n`).join('');
}

export function formatJson(problems: readonly Problem[]): string {
  const rows = problems.map(({ file, line, column, code, message, hint }) => ({
    file,
    line,
    column,
    code,
    message,
    hint,
  }));
  return JSON.stringify(rows, null, 2) + '\n';
}

/**
 * Renders the server config templates in infra/ (placeholders like ${DATA_DIR}).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Replaces every ${NAME} in the template with vars[NAME]; fails on a placeholder it has no value for. */
export function renderTemplate(templateFile: string, vars: Record<string, string | number>, outFile: string, mode = 0o644): void {
  const text = fs.readFileSync(templateFile, 'utf8').replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`${templateFile}: no value for placeholder ${whole}`);
    return String(v);
  });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, text, { mode });
  fs.chmodSync(outFile, mode);
}

/** The Java executable to run the JVM servers with (SWITCHYARD_JAVA_HOME or JAVA_HOME, else PATH). */
export function javaBin(javaHome: string | undefined): string {
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

// Inventory YAML files: parse and validate (each problem as file:line:column) and write them back out.
import { LineCounter, parseDocument, stringify } from 'yaml';
import { ConfigError, problemFromIssue } from '../config/load.js';
import { inventoryFileSchema, type InventoryFile } from './inventory.js';

/** Parse an inventory file; throws ConfigError listing every problem with its line. */
export function parseInventoryYaml(text: string, file: string): InventoryFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      return { file, line: position.line, column: position.col, path: '', message: error.message.split('\n')[0] ?? error.message };
    }));
  }
  const result = inventoryFileSchema.safeParse(document.toJS() ?? {});
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => problemFromIssue(issue, document, lineCounter, file)));
  return result.data;
}

/** The inventory as YAML, with a header line saying what it is. */
export function inventoryYaml(inventory: InventoryFile): string {
  return `# Covenant AI inventory: systems, vendors, models, contracts and the links between them\n${stringify(inventory, { lineWidth: 0 })}`;
}

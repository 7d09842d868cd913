// A blueprint's config fragment written into the YAML config with its comments kept: only the fields the config schema accepts.
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import { configSchema } from '../config/schema.js';

export interface Fragment {
  /** The `systems:` entry (decision-oversight shape). */
  system: Record<string, unknown> & { name: string; department: string };
  /** Settings of the system's department (e.g. retention: { content: none }). */
  department: { retention?: { content: 'none' } };
}

export interface FragmentResult {
  text: string;
  /** What was written, as config paths. */
  written: string[];
  /** What could not be written, and why. */
  skipped: string[];
}

/** The fragment as YAML, for printing. */
export function fragmentYaml(fragment: Fragment): string {
  const department = Object.keys(fragment.department).length > 0
    ? `\n# in org.departments[name=${fragment.system.department}]:\n${stringify(fragment.department, { lineWidth: 0 })}` : '';
  return `systems:\n${stringify([fragment.system], { lineWidth: 0 }).replace(/^/gm, '  ').trimEnd()}\n${department}`;
}

/** Whether this build's config schema has a top-level field (the `systems:` list arrives with decision oversight). */
export function schemaAccepts(field: string): boolean {
  return Object.prototype.hasOwnProperty.call((configSchema as unknown as { shape: Record<string, unknown> }).shape, field);
}

/** Write the fragment into config text: replace (or add) the system's `systems:` entry, set its department's retention. */
export function writeFragment(text: string, fragment: Fragment): FragmentResult {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new Error(`the config is not valid YAML: ${document.errors[0]!.message.split('\n')[0]}`);
  const written: string[] = [];
  const skipped: string[] = [];
  const departments = document.getIn(['org', 'departments']);
  const departmentIndex = isSeq(departments) ? departments.items.findIndex((item) => isMap(item) && item.get('name') === fragment.system.department) : -1;
  if (departmentIndex < 0) {
    skipped.push(`the config has no department "${fragment.system.department}" under org.departments: add it, then apply again`);
  } else if (schemaAccepts('systems')) {
    const systems = document.get('systems');
    const node = document.createNode(fragment.system);
    if (isSeq(systems)) {
      const index = systems.items.findIndex((item) => isMap(item) && item.get('name') === fragment.system.name);
      if (index >= 0) systems.set(index, node);
      else systems.add(node);
    } else {
      document.set('systems', document.createNode([fragment.system]));
    }
    written.push(`systems[name=${fragment.system.name}]`);
  } else {
    skipped.push('systems: this build\'s config schema has no systems list yet (it arrives with decision oversight); add the printed entry when it does');
  }
  if (fragment.department.retention && departmentIndex >= 0) {
    document.setIn(['org', 'departments', departmentIndex, 'retention', 'content'], fragment.department.retention.content);
    written.push(`org.departments[name=${fragment.system.department}].retention.content`);
  }
  return { text: document.toString({ lineWidth: 0 }), written, skipped };
}

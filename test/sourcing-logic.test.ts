// The sourcing workbench's pure parts: the decision tree, the pre-qualification score, blueprint packs, inventory YAML and the config fragment.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../src/config/load.js';
import { blueprint, blueprintIds, requiredClauses, systemsEntry } from '../src/sourcing/blueprints.js';
import { blueprintClauses } from '../src/sourcing/clause-ids.js';
import { writeFragment, schemaAccepts } from '../src/sourcing/config-fragment.js';
import { decideStrategy, sourcingGuidance } from '../src/sourcing/decision.js';
import { parseInventoryYaml } from '../src/sourcing/inventory-yaml.js';
import { passScore, questionnaire, scoreQualification } from '../src/sourcing/qualification.js';

describe('sourcing decision tree', () => {
  // differentiator and data moat: BUILD; differentiator without moat: PARTNER; commodity where speed matters: BUY; otherwise INVEST.
  const table: [boolean, boolean, boolean, string][] = [
    [true, true, true, 'BUILD'], [true, true, false, 'BUILD'],
    [true, false, true, 'PARTNER'], [true, false, false, 'PARTNER'],
    [false, true, true, 'BUY'], [false, false, true, 'BUY'],
    [false, true, false, 'INVEST'], [false, false, false, 'INVEST'],
  ];
  it.each(table)('differentiator %s, data moat %s, speed priority %s → %s', (differentiator, dataMoat, speed, expected) => {
    expect(decideStrategy({ differentiator, data_moat: dataMoat, speed_priority: speed })).toBe(expected);
    const guidance = sourcingGuidance({ differentiator, data_moat: dataMoat, speed_priority: speed });
    expect(guidance.strategy).toBe(expected);
    expect(guidance.operational_focus.length).toBeGreaterThan(0);
    expect(guidance.trade_offs.length).toBeGreaterThan(0);
    expect(guidance.policies.length).toBeGreaterThan(0);
  });

  it('asks for the clauses each strategy depends on', () => {
    expect(sourcingGuidance({ differentiator: true, data_moat: true, speed_priority: false }).clauses).toContain('weight_ownership');
    expect(sourcingGuidance({ differentiator: false, data_moat: false, speed_priority: true }).clauses).toEqual(expect.arrayContaining(['no_training', 'exit_portability', 'spend_caps']));
  });
});

describe('vendor pre-qualification', () => {
  const everything = (answer: 'yes' | 'partial' | 'no', evidence = true) => Object.fromEntries(questionnaire('data_enrichment_provider')
    .map((question) => [question.id, { answer, ...(evidence ? { evidence: `https://vendor.example/${question.id}` } : {}) }]));

  it('asks each layer its own questions: labour standards of annotation work weigh most for data enrichment', () => {
    const enrichment = questionnaire('data_enrichment_provider');
    expect(enrichment.map((question) => question.id)).toContain('annotation_labour');
    expect(questionnaire('system_integrator').map((question) => question.id)).not.toContain('annotation_labour');
    expect(enrichment.find((question) => question.id === 'annotation_labour')!.weights.data_enrichment_provider).toBe(4);
  });

  it('scores 100 for yes with evidence, 50 for partial with evidence, 25 for partial without, and passes only the first', () => {
    expect(scoreQualification('data_enrichment_provider', everything('yes'))).toMatchObject({ score: 100, passed: true, reasons: [] });
    const partial = scoreQualification('data_enrichment_provider', everything('partial'));
    expect(partial.score).toBe(50);
    expect(partial.passed).toBe(false);
    expect(partial.reasons[0]).toBe(`score 50 is below the pass mark of ${passScore}`);
    expect(scoreQualification('data_enrichment_provider', everything('partial', false)).score).toBe(25);
  });

  it('fails a vendor that scores well but says no to a critical question of its layer', () => {
    const answers = { ...everything('yes'), annotation_labour: { answer: 'no' as const } };
    const result = scoreQualification('data_enrichment_provider', answers);
    // annotation_labour weighs 4 of 2+3+4+2+3+4+2 = 20: 16/20 = 80.
    expect(result.score).toBe(80);
    expect(result.passed).toBe(false);
    expect(result.reasons).toEqual(['critical question annotation_labour answered "no"']);
  });

  it('refuses answers to questions the layer is not asked', () => {
    expect(() => scoreQualification('system_integrator', { annotation_labour: { answer: 'yes' } })).toThrow(/not asked of a system_integrator/);
  });
});

describe('blueprint packs', () => {
  it('require exactly the shared clause lists', () => {
    for (const id of blueprintIds) expect(blueprint(id).clauses).toEqual(blueprintClauses[id]);
  });

  it('C requires a person for every reject and explanations; D keeps no content; E suspends scoring on a parity breach', () => {
    expect(systemsEntry('C', { name: 'claims-triage', department: 'claims' })).toEqual({
      name: 'claims-triage', department: 'claims', review: { required_for: ['reject'], window: '48h' }, explanation: { required: true, tolerance: 0.01 },
      adm: 'substantially_assisted', sla: { min_precision: 0.9, min_recall: 0.8, window: '30d' },
    });
    expect(blueprint('D').department).toEqual({ retention: { content: 'none' } });
    expect(systemsEntry('E', { name: 'cv', department: 'hr' }).fairness).toEqual({ attribute: 'sex', min_impact_ratio: 0.8, window: '30d', min_group_size: 30, on_breach: 'suspend' });
    expect(blueprint('B').clauses).toEqual(expect.arrayContaining(['no_training', 'exit_portability']));
    expect(blueprint('A').clauses).toEqual(expect.arrayContaining(['weight_ownership', 'weight_export', 'version_registry']));
  });

  it('adds a system\'s own clauses once, with the default strength of those that have one', () => {
    const required = requiredClauses('D', ['no_training', 'bias_testing']);
    expect(required.map((entry) => entry.clause)).toEqual([...blueprintClauses.D, 'bias_testing']);
    expect(required.find((entry) => entry.clause === 'change_notice')!.requirements).toEqual([{ parameter: 'notice_days', unit: 'days', min: 60 }]);
  });
});

describe('inventory YAML', () => {
  it('names the line of each problem', () => {
    const text = [
      'systems:',
      '  - name: claims-triage',
      '    owner: Head of Claims',
      '    department: claims',
      '    blueprint: F',
      'vendors:',
      '  - name: acme-ai',
      '    layer: reseller',
    ].join('\n');
    expect(() => parseInventoryYaml(text, 'inventory.yaml')).toThrow(/inventory\.yaml:5:16: systems\[0\]\.blueprint: .*\n.*inventory\.yaml:8:12: vendors\[0\]\.layer/);
  });

  it('reads the regulatory flags', () => {
    const file = parseInventoryYaml([
      'systems:',
      '  - { name: cv-screening, owner: Talent, department: hr, risk_tier: high,',
      '      regulatory: { eu_ai_act: { tier: high, annex_iii_area: employment }, app_1_7: { significant_effect: true, personal_information: true }, nyc_ll144_aedt: true } }',
    ].join('\n'), 'inventory.yaml');
    expect(file.systems[0]!.regulatory).toEqual({ eu_ai_act: { tier: 'high', annex_iii_area: 'employment' }, app_1_7: { significant_effect: true, personal_information: true }, nyc_ll144_aedt: true });
  });
});

describe('config fragment', () => {
  const config = [
    '# Acme gateway',
    'store: sqlite:.covenant/covenant.db',
    'providers: [ { name: mock, type: mock } ]',
    'models:',
    '  - { alias: demo, provider: mock, version: mock-gpt-1 }',
    'org:',
    '  name: acme',
    '  departments:',
    '    - name: advisors   # wealth advisors',
    '      keys: [ { name: advisor-bot, key_env: ADVISOR_KEY } ]',
    '',
  ].join('\n');

  it('sets the department\'s retention to none, keeps comments, and still validates', () => {
    const result = writeFragment(config, { system: { name: 'advisor-assist', department: 'advisors', adm: 'substantially_assisted' }, department: { retention: { content: 'none' } } });
    expect(result.text).toContain('# Acme gateway');
    expect(result.text).toContain('# wealth advisors');
    expect(result.written).toContain('org.departments[name=advisors].retention.content');
    const loaded = parseConfigText(result.text, 'covenant.yaml');
    expect(loaded.raw.org.departments[0]!.retention?.content).toBe('none');
    // The systems list is written only when this build's schema has it.
    if (schemaAccepts('systems')) expect(result.written).toContain('systems[name=advisor-assist]');
    else expect(result.skipped[0]).toMatch(/no systems list/);
  });

  it('says so when the department is not in the config', () => {
    const result = writeFragment(config, { system: { name: 'x', department: 'legal' }, department: { retention: { content: 'none' } } });
    expect(result.skipped).toEqual(['the config has no department "legal" under org.departments: add it, then apply again']);
    expect(result.written).toEqual([]);
  });
});

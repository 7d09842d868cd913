// A system's CycloneDX 1.6 ML-BOM: the system as the BOM's subject, each model a machine-learning-model component with a model card.
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { SystemReport } from './report.js';

const modelRef = (name: string) => `model:${name}`;

/**
 * The model card of one model (CycloneDX 1.6 `modelCard`). The library (10.x) builds the BOM, its components and
 * their suppliers but has no model-card object yet, so the card is added to the serialized component; the test
 * validates the whole document against the library's bundled 1.6 JSON schema.
 */
function modelCard(report: SystemReport, model: SystemReport['system']['models'][number]): Record<string, unknown> {
  const system = report.system;
  const fairness = report.blueprint?.policy.fairness;
  const ethical = [
    ...(system.high_risk ? [{ name: 'high-risk use', mitigationStrategy: 'human review of adverse decisions and a pre-qualified supply chain' }] : []),
    ...(report.blueprint?.settings ?? []).map((setting) => ({ name: setting.why, mitigationStrategy: `${setting.setting}: ${setting.value}` })),
  ];
  const limitations = report.live.models.find((each) => each.name === model.name)?.status === 'version differs'
    ? ['the recorded version differs from the version the gateway pins'] : [];
  return {
    'bom-ref': `${modelRef(model.name)}:card`,
    modelParameters: { ...(model.task ? { task: model.task } : {}) },
    considerations: {
      users: [`${system.department} (owner: ${system.owner})`],
      useCases: [system.purpose ?? system.name],
      ...(limitations.length > 0 ? { technicalLimitations: limitations } : {}),
      ...(ethical.length > 0 ? { ethicalConsiderations: ethical } : {}),
      ...(fairness ? {
        fairnessAssessments: [{
          groupAtRisk: `groups by ${fairness.attribute}`,
          harms: 'unequal selection rates across groups',
          mitigationStrategy: `impact ratio at least ${fairness.min_impact_ratio} over ${fairness.window}; scoring ${fairness.on_breach === 'suspend' ? 'suspended' : 'alerted'} on breach`,
        }],
      } : {}),
    },
    properties: [
      { name: 'covenant:required_clauses', value: system.required_clauses.join(',') },
      ...(model.alias ? [{ name: 'covenant:alias', value: model.alias }] : []),
    ],
  };
}

/** The ML-BOM as CycloneDX 1.6 JSON text. */
export function systemMlBom(report: SystemReport, options: { serialNumber?: string; toolVersion?: string } = {}): string {
  const system = report.system;
  const bom = new Models.Bom();
  if (options.serialNumber) bom.serialNumber = options.serialNumber;
  bom.metadata.timestamp = new Date(report.generated_at);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'covenant', { version: options.toolVersion ?? '0.1.0' }));
  const subject = new Models.Component(Enums.ComponentType.Application, system.name, {
    bomRef: `system:${system.name}`,
    description: system.purpose,
    properties: new Models.PropertyRepository([
      new Models.Property('covenant:department', system.department),
      new Models.Property('covenant:owner', system.owner),
      new Models.Property('covenant:risk_tier', system.risk_tier),
      ...(system.strategy ? [new Models.Property('covenant:strategy', system.strategy)] : []),
      ...(system.blueprint ? [new Models.Property('covenant:blueprint', system.blueprint)] : []),
      ...(system.regulatory.eu_ai_act ? [new Models.Property('covenant:eu_ai_act_tier', system.regulatory.eu_ai_act.tier)] : []),
      ...(system.regulatory.eu_ai_act?.annex_iii_area ? [new Models.Property('covenant:eu_ai_act_annex_iii', system.regulatory.eu_ai_act.annex_iii_area)] : []),
      ...(system.regulatory.app_1_7 ? [new Models.Property('covenant:app_1_7_automated_decision', String(system.regulatory.app_1_7.significant_effect && system.regulatory.app_1_7.personal_information))] : []),
      ...(system.regulatory.nyc_ll144_aedt !== undefined ? [new Models.Property('covenant:nyc_ll144_aedt', String(system.regulatory.nyc_ll144_aedt))] : []),
      ...system.vendors.map((vendor) => new Models.Property(`covenant:vendor:${vendor.name}`,
        `${vendor.layer}; ${vendor.qualification ? `${vendor.qualification.passed ? 'passed' : 'failed'} pre-qualification (${vendor.qualification.score})` : 'not pre-qualified'}${vendor.exception ? `; exception: ${vendor.exception.reason} (${vendor.exception.by})` : ''}`)),
    ]),
  });
  bom.metadata.component = subject;
  const components = new Map<string, InstanceType<typeof Models.Component>>();
  for (const model of system.models) {
    const live = report.live.models.find((each) => each.name === model.name);
    const vendor = system.vendors.find((each) => each.name === model.vendor);
    const component = new Models.Component(Enums.ComponentType.MachineLearningModel, model.name, {
      bomRef: modelRef(model.name),
      version: live?.gateway_version ?? model.version,
      description: model.description,
      supplier: model.vendor ? new Models.OrganizationalEntity({ name: model.vendor }) : undefined,
      properties: new Models.PropertyRepository([
        ...(live ? [new Models.Property('covenant:gateway_status', live.status)] : []),
        ...(live?.provider ? [new Models.Property('covenant:provider', live.provider)] : []),
        ...(vendor ? [new Models.Property('covenant:vendor_layer', vendor.layer)] : []),
      ]),
    });
    bom.components.add(component);
    subject.dependencies.add(component.bomRef);
    components.set(model.name, component);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  const document = JSON.parse(serializer.serialize(bom, { sortLists: false })) as { components?: { 'bom-ref': string }[] };
  for (const component of document.components ?? []) {
    const model = system.models.find((each) => modelRef(each.name) === component['bom-ref']);
    if (model) Object.assign(component, { modelCard: modelCard(report, model) });
  }
  return `${JSON.stringify(document, null, 2)}\n`;
}

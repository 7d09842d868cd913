// Bias audits on the public data sets in ../shared/data reproduce published figures (ProPublica's COMPAS analysis; UCI Adult by sex).
import { describe, expect } from 'vitest';
import { parseOption, recordsFromTable } from '../src/cli/bias-input.js';
import { readCsvFile } from '../src/cli/csv-table.js';
import { fairnessReport, type FairnessReport } from '../src/core/fairness.js';
import { runCovenant } from './helpers/process.js';
import { sharedData } from './helpers/shared-data.js';

const compas = sharedData('compas-two-years.csv');
const adult = sharedData('adult.csv');

/** ProPublica's analysis filter (Larson et al. 2016, "How We Analyzed the COMPAS Recidivism Algorithm"). */
const propublicaFilter = ['days_b_screening_arrest >= -30', 'days_b_screening_arrest <= 30', 'is_recid != -1', "c_charge_degree != 'O'", "score_text != 'N/A'"];

function compasByRace(path: string, where: string[]): FairnessReport {
  const table = readCsvFile(path);
  const { records } = recordsFromTable(table, {
    groups: ['race'], prediction: parseOption('decile_score >= 5', '--prediction'), label: 'two_year_recid',
    where: where.map((expression) => parseOption(expression, '--where')),
  }, path);
  return fairnessReport(records, ['race']);
}

function group(report: FairnessReport, key: string) {
  const found = report.groups.find((entry) => entry.key === key);
  if (!found) throw new Error(`no group ${key}`);
  return found;
}

describe('COMPAS by race', () => {
  compas.test('reproduces ProPublica\'s published error rates: FPR 44.9% vs 23.5%, FNR 28.0% vs 47.7%', (path) => {
    // ProPublica's "Machine Bias" table (Medium/High = decile 5–10, two-year recidivism, all 7,214 defendants):
    // labeled higher risk but didn't re-offend: African-American 44.9%, White 23.5%;
    // labeled lower risk yet did re-offend: African-American 28.0%, White 47.7% (figures rounded to 0.1%).
    const report = compasByRace(path, []);
    const black = group(report, 'African-American');
    const white = group(report, 'Caucasian');
    expect(black.counts).toMatchObject({ falsePositives: 805, trueNegatives: 990, falseNegatives: 532, truePositives: 1369 });
    expect(white.counts).toMatchObject({ falsePositives: 349, trueNegatives: 1139, falseNegatives: 461, truePositives: 505 });
    // 805 / 1,795 = 44.85%, printed by ProPublica as 44.9%: hence a tolerance a hair over half a rounding unit.
    expect(Math.abs(black.falsePositiveRate!.value - 0.449)).toBeLessThanOrEqual(0.0006);
    expect(Math.abs(white.falsePositiveRate!.value - 0.235)).toBeLessThanOrEqual(0.0006);
    expect(Math.abs(black.falseNegativeRate!.value - 0.280)).toBeLessThanOrEqual(0.0006);
    expect(Math.abs(white.falseNegativeRate!.value - 0.477)).toBeLessThanOrEqual(0.0006);
  });

  compas.test('with ProPublica\'s filter keeps 6,172 defendants and the same gap: FPR 0.423 vs 0.220', (path) => {
    const report = compasByRace(path, propublicaFilter);
    expect(report.total).toBe(6172);
    const black = group(report, 'African-American');
    const white = group(report, 'Caucasian');
    expect(black.counts).toMatchObject({ count: 3175, falsePositives: 641, trueNegatives: 873 });
    expect(white.counts).toMatchObject({ count: 2103, falsePositives: 282, trueNegatives: 999 });
    expect(black.falsePositiveRate!.value).toBeCloseTo(0.423, 3);
    expect(white.falsePositiveRate!.value).toBeCloseTo(0.220, 3);
    // The gap is far outside both intervals: the two groups' FPR intervals do not overlap.
    expect(black.falsePositiveRate!.lower).toBeGreaterThan(white.falsePositiveRate!.upper);
    // Asian (31) and Native American (11) are under 2% and left out of the ratios.
    expect(report.smallGroups).toEqual(['Asian', 'Native American']);
    expect(report.falsePositiveRateDifference).toBeCloseTo(0.4234 - 0.1279, 3);
  });

  compas.test('through the CLI: the documented command gives the table and exits 1', async (path) => {
    const result = await runCovenant(['bias', 'audit', '--input', path, '--group', 'race', '--prediction', 'decile_score >= 5',
      '--label', 'two_year_recid', ...propublicaFilter.flatMap((expression) => ['--where', expression])]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('6172 records (1042 filtered out)');
    expect(result.stdout).toMatch(/^African-American\s+3175\s+51\.4%.*0\.423 \[0\.399, 0\.448\]/m);
  });
});

describe('UCI Adult by sex', () => {
  adult.test('reproduces its disparate impact: >50K for 10.9% of women and 30.4% of men, ratio 0.36', (path) => {
    // Published on the 48,842 rows: women 1,769 of 16,192 earn >50K, men 9,918 of 32,650; the training split alone
    // (32,561 rows) gives 10.9% and 30.6%; both give a disparate impact of 0.36, far below the four-fifths rule.
    const table = readCsvFile(path);
    expect(table.rows).toHaveLength(48842);
    const { records } = recordsFromTable(table, {
      groups: ['sex'], prediction: parseOption("income == '>50K'", '--prediction'), label: 'income', favorable: '>50K', where: [],
    }, path);
    const report = fairnessReport(records, ['sex']);
    const female = group(report, 'Female');
    const male = group(report, 'Male');
    expect(female.counts).toMatchObject({ count: 16192, selected: 1769 });
    expect(male.counts).toMatchObject({ count: 32650, selected: 9918 });
    expect(female.selectionRate!.value).toBeCloseTo(0.109, 3);
    expect(male.selectionRate!.value).toBeCloseTo(0.304, 3);
    expect(report.referenceGroup).toBe('Male');
    expect(female.impactRatio).toBeCloseTo(0.36, 2);
    expect(report.demographicParityRatio).toBeCloseTo(0.36, 2);
    expect(report.demographicParityDifference).toBeCloseTo(0.195, 3);
    expect(report.passesFourFifths).toBe(false);
  });

  adult.test('through the CLI, by sex and race with intersections, as JSON', async (path) => {
    const result = await runCovenant(['bias', 'audit', '--input', path, '--group', 'sex', '--group', 'race',
      '--prediction', "income == '>50K'", '--label', 'income', '--favorable', '>50K', '--json']);
    expect(result.code).toBe(1);
    const audit = JSON.parse(result.stdout) as { reports: FairnessReport[] };
    expect(audit.reports.map((report) => report.attributes)).toEqual([['sex'], ['race'], ['sex', 'race']]);
    expect(audit.reports[0].minimumImpactRatio).toBeCloseTo(0.36, 2);
    // Intersections under 2% of the records (e.g. Amer-Indian-Eskimo women) are listed and left out.
    expect(audit.reports[2].smallGroups).toContain('Female & Amer-Indian-Eskimo');
  });
});


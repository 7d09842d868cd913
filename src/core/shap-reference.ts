// Slow reference Shapley values, straight from the definition; tests check Kernel SHAP against them.

/**
 * φ_i = Σ_{S ⊆ N∖{i}} |S|! (M − |S| − 1)! / M! · (v(S ∪ {i}) − v(S)), for a game v over coalitions of M players.
 */
export function referenceShapley(players: number, value: (coalition: readonly boolean[]) => number): number[] {
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const result = Array<number>(players).fill(0);
  for (let mask = 0; mask < 1 << players; mask += 1) {
    const coalition = Array.from({ length: players }, (_, index) => (mask & (1 << index)) !== 0);
    const size = coalition.filter(Boolean).length;
    for (let player = 0; player < players; player += 1) {
      if (coalition[player]) continue;
      const weight = (factorial(size) * factorial(players - size - 1)) / factorial(players);
      const joined = coalition.map((member, index) => member || index === player);
      result[player] += weight * (value(joined) - value(coalition));
    }
  }
  return result;
}

/** The interventional game of a model: v(S) = mean over background rows b of f(x_S, b_rest). */
export function interventionalGame(model: (row: readonly number[]) => number, instance: readonly number[], background: readonly (readonly number[])[]) {
  return (coalition: readonly boolean[]): number => {
    let sum = 0;
    for (const row of background) sum += model(row.map((value, index) => (coalition[index] ? instance[index] : value)));
    return sum / background.length;
  };
}

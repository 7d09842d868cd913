// Pipeline stage for access: the key's allowed aliases and the route's model type (refusals are recorded like any other).
import { CovenantError } from '../../core/errors.js';
import type { Stage } from '../context.js';

export const accessStage: Stage = {
  name: 'access',
  admit(context) {
    const { key, model, route } = context;
    if (key.models !== null && !key.models.includes(model.alias)) throw new CovenantError('model_not_allowed', model.alias, { param: 'model' });
    if ((model.type === 'embedding') !== (route === 'embeddings')) {
      throw new CovenantError('invalid_request', `The model "${model.alias}" is ${model.type === 'embedding' ? 'an embedding' : 'a chat'} model and cannot serve this route.`, { param: 'model' });
    }
  },
};

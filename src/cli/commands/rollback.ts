import { pending } from './pending.js';

export const command = pending('rollback', '#5');

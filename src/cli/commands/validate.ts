import { pending } from './pending.js';

export const command = pending('validate', '#2');

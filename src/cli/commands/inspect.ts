import { pending } from './pending.js';

export const command = pending('inspect', '#3');

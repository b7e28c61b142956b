import { pending } from './pending.js';

export const command = pending('outputs', '#4');

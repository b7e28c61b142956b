import { pending } from './pending.js';

export const command = pending('plan', '#4');

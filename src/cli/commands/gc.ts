import { pending } from './pending.js';

export const command = pending('gc', '#3');

import { pending } from './pending.js';

export const command = pending('history', '#5');

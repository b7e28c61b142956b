import { pending } from './pending.js';

export const command = pending('graph', '#2');

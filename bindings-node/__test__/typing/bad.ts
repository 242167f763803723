// Must fail type checking: a token is not a number.
import { ClientSecretCredential } from '../../index';
export async function wrong(): Promise<number> {
  const token = await new ClientSecretCredential('t', 'c', 's').getToken('x');
  return token.token;
}

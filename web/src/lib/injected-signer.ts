// Signing with an injected EIP-1193 wallet by its standard methods (eth_requestAccounts, personal_sign, eth_signTypedData_v4).
// ethers' BrowserProvider would wrap the same four calls but costs ~75 kB gzipped (its whole provider stack), a third of the budget.
import { TypedDataEncoder } from 'ethers/hash';
import type { TypedDataField } from 'ethers';

export interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export interface InjectedSigner {
  address: `0x${string}`;
  signTypedData(domain: Record<string, unknown>, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<`0x${string}`>;
  signMessage(message: string): Promise<`0x${string}`>;
}

const utf8Hex = (s: string) => '0x' + [...new TextEncoder().encode(s)].map((b) => b.toString(16).padStart(2, '0')).join('');

export async function injectedSigner(ethereum: Eip1193): Promise<InjectedSigner> {
  const accounts = (await ethereum.request({ method: 'eth_requestAccounts' })) as string[];
  if (!accounts?.length) throw new Error('the wallet shared no account');
  const address = accounts[0].toLowerCase() as `0x${string}`;
  return {
    address,
    signTypedData: async (domain, types, value) => {
      // getPayload adds EIP712Domain and turns bigints into JSON-safe values, as wallets expect.
      const payload = TypedDataEncoder.getPayload(domain, types, value);
      return (await ethereum.request({ method: 'eth_signTypedData_v4', params: [address, JSON.stringify(payload)] })) as `0x${string}`;
    },
    signMessage: async (message) => (await ethereum.request({ method: 'personal_sign', params: [utf8Hex(message), address] })) as `0x${string}`,
  };
}

// Signing with an injected EIP-1193 wallet through ethers' BrowserProvider (loaded only when a wallet is present).
import { BrowserProvider, type Eip1193Provider, type TypedDataField } from 'ethers';

export interface InjectedSigner {
  address: `0x${string}`;
  signTypedData(domain: Record<string, unknown>, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<`0x${string}`>;
  signMessage(message: string): Promise<`0x${string}`>;
}

export async function injectedSigner(ethereum: Eip1193Provider): Promise<InjectedSigner> {
  const provider = new BrowserProvider(ethereum);
  const signer = await provider.getSigner();
  return {
    address: (await signer.getAddress()) as `0x${string}`,
    signTypedData: async (d, t, v) => (await signer.signTypedData(d, t, v)) as `0x${string}`,
    signMessage: async (m) => (await signer.signMessage(m)) as `0x${string}`,
  };
}

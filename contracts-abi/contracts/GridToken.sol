// SPDX-License-Identifier: MIT
// Payment token for the local chain: a plain ERC-20 with 6 decimals (like a EUR stablecoin); the owner mints demo funds.
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract GridToken is ERC20, Ownable {
    constructor(address initialOwner) ERC20("Gridmesh Euro", "gEUR") Ownable(initialOwner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// Local-chain faucet: a real deployment points EnergyMarket at an existing stablecoin instead.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}

// SPDX-License-Identifier: MIT
// gridmesh on-chain settlement: payment escrow, one netted transaction per delivery slot with its trades root,
// reward epochs (Merkle root of cumulative entitlements), trade proofs, MeterReading signer recovery and a meter registry.
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {RewardToken} from "./RewardToken.sol";

contract EnergyMarket is AccessControl {
    using SafeERC20 for IERC20;

    /// Sends settleSlot and publishes reward roots.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    // ---- EIP-712: domain {name "gridmesh", version "1", chainId} WITHOUT verifyingContract, so a bridge can sign
    // readings before any contract exists. OZ's EIP712 base always includes verifyingContract, hence our own separator.
    bytes32 private constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version,uint256 chainId)");
    bytes32 private constant NAME_HASH = keccak256("gridmesh");
    bytes32 private constant VERSION_HASH = keccak256("1");
    bytes32 public constant METER_READING_TYPEHASH = keccak256(
        "MeterReading(address meter,uint64 seq,uint64 timestamp,uint64 importWh,uint64 exportWh,int64 powerW,uint32 flags)"
    );
    bytes32 public constant METER_BINDING_TYPEHASH =
        keccak256("MeterBinding(address meter,address owner,uint8 role,uint32 capacityW,uint64 nonce)");

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    struct MeterReading {
        address meter;
        uint64 seq;
        uint64 timestamp;
        uint64 importWh;
        uint64 exportWh;
        int64 powerW;
        uint32 flags;
    }

    struct MeterBinding {
        address meter;
        address owner;
        uint8 role; // 0 grid, 1 pv, 2 battery, 3 ev
        uint32 capacityW;
        uint64 nonce;
    }

    struct Meter {
        address owner;
        uint8 role;
        uint32 capacityW;
        uint64 nextNonce; // a binding must carry nonce >= nextNonce: no replay of old signatures, even after unbind
    }

    struct Withdrawal {
        uint128 amount;
        uint64 readyAt;
    }

    IERC20 public immutable paymentToken;
    RewardToken public immutable rewardToken;
    /// Seconds between requestWithdrawal and executeWithdrawal, so open bids stay covered until gate closure.
    uint64 public withdrawalDelay;

    mapping(address account => uint256) private _escrow;
    mapping(address account => Withdrawal) public pendingWithdrawal;
    mapping(uint64 slotId => bytes32) private _slotRoots;

    uint64 public rewardEpoch;
    bytes32 public rewardRoot;
    /// The root before rewardRoot: a claim built just before a new root was published still verifies.
    bytes32 public previousRewardRoot;
    mapping(address account => uint256) public rewardsClaimed;

    mapping(address meter => Meter) public meters;

    event Deposited(address indexed account, address indexed from, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed account, uint256 amount, uint64 readyAt);
    event WithdrawalExecuted(address indexed account, uint256 amount, uint256 balance);
    event WithdrawalDelayChanged(uint64 delaySeconds);
    /// One event per slot: anyone can audit the netting and prove trades against tradesRoot.
    event SlotSettled(uint64 indexed slotId, bytes32 tradesRoot, uint32 tradesCount, uint256 accountCount);
    event RewardRootPublished(uint64 indexed epoch, bytes32 root);
    event RewardClaimed(address indexed account, uint256 amount, uint256 cumulative);
    event MeterBound(address indexed meter, address indexed owner, uint8 role, uint32 capacityW, uint64 nonce);
    event MeterUnbound(address indexed meter, address indexed owner);

    error ZeroAmount();
    error InsufficientEscrow(address account, uint256 balance, uint256 requested);
    error NoWithdrawalPending(address account);
    error WithdrawalNotReady(address account, uint64 readyAt);
    error DelayTooLong(uint64 delaySeconds);
    error EmptyTradesRoot();
    error SlotAlreadySettled(uint64 slotId);
    error MalformedBatch(uint256 accountsBytes, uint256 deltasBytes);
    error AccountsNotAscending(uint256 index);
    error AccountNegative(address account, uint256 balance, int256 delta);
    error DeltasNotZeroSum(int256 sum);
    error EpochNotIncreasing(uint64 current, uint64 proposed);
    error InvalidRewardProof();
    error NothingToClaim(address account);
    error InvalidMeterRole(uint8 role);
    error WrongSigner(address expected, address recovered);
    error MeterBoundToOther(address meter, address owner);
    error StaleBindingNonce(uint64 nonce, uint64 nextNonce);
    error NotMeterOwner(address meter);

    uint64 public constant MAX_WITHDRAWAL_DELAY = 30 days;

    constructor(IERC20 paymentToken_, address admin, address operator, uint64 withdrawalDelay_) {
        if (withdrawalDelay_ > MAX_WITHDRAWAL_DELAY) revert DelayTooLong(withdrawalDelay_);
        paymentToken = paymentToken_;
        rewardToken = new RewardToken("Gridmesh Reward", "GMR", address(this));
        withdrawalDelay = withdrawalDelay_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // ------------------------------------------------------------------ escrow

    function escrowOf(address account) external view returns (uint256) {
        return _escrow[account];
    }

    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// Pulls `amount` from the caller and credits `account` (the operator funds demo participants this way).
    function depositFor(address account, uint256 amount) public {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _escrow[account] + amount;
        _escrow[account] = balance;
        emit Deposited(account, msg.sender, amount, balance);
        paymentToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// Starts the delay; a new request replaces the previous one.
    function requestWithdrawal(uint256 amount) external {
        uint256 balance = _escrow[msg.sender];
        if (amount == 0) revert ZeroAmount();
        if (amount > balance) revert InsufficientEscrow(msg.sender, balance, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawalDelay;
        pendingWithdrawal[msg.sender] = Withdrawal(uint128(amount), readyAt);
        emit WithdrawalRequested(msg.sender, amount, readyAt);
    }

    /// Pays the requested amount, capped at the escrow balance now (settlements during the delay may have spent some).
    function executeWithdrawal() external returns (uint256 paid) {
        Withdrawal memory w = pendingWithdrawal[msg.sender];
        if (w.readyAt == 0) revert NoWithdrawalPending(msg.sender);
        if (block.timestamp < w.readyAt) revert WithdrawalNotReady(msg.sender, w.readyAt);
        delete pendingWithdrawal[msg.sender];
        uint256 balance = _escrow[msg.sender];
        paid = w.amount < balance ? w.amount : balance;
        _escrow[msg.sender] = balance - paid;
        emit WithdrawalExecuted(msg.sender, paid, balance - paid);
        if (paid > 0) paymentToken.safeTransfer(msg.sender, paid);
    }

    function setWithdrawalDelay(uint64 delaySeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (delaySeconds > MAX_WITHDRAWAL_DELAY) revert DelayTooLong(delaySeconds);
        withdrawalDelay = delaySeconds;
        emit WithdrawalDelayChanged(delaySeconds);
    }

    // ------------------------------------------------------------------ settlement

    /// Applies one delivery slot's netted balance changes in one transaction.
    /// @param accounts packed 20-byte addresses, strictly ascending (so each account is written exactly once)
    /// @param deltas packed 12-byte big-endian int96 deltas in token base units, same order; they must sum to zero
    function settleSlot(
        uint64 slotId,
        bytes32 tradesRoot,
        uint32 tradesCount,
        bytes calldata accounts,
        bytes calldata deltas
    ) external onlyRole(OPERATOR_ROLE) {
        if (tradesRoot == bytes32(0)) revert EmptyTradesRoot();
        if (_slotRoots[slotId] != bytes32(0)) revert SlotAlreadySettled(slotId);
        uint256 n = accounts.length / 20;
        if (n == 0 || accounts.length != n * 20 || deltas.length != n * 12) {
            revert MalformedBatch(accounts.length, deltas.length);
        }
        // Hot loop in assembly: one cold SLOAD + one SSTORE per account is the floor; everything else is kept to a few
        // opcodes (this is what makes a 500-trade slot cost ~2.3k gas per trade). Failures are reported after the loop.
        int256 sum;
        uint256 failKind; // 1 = accounts not strictly ascending, 2 = an account would go negative
        uint256 failIndex;
        assembly ("memory-safe") {
            let accountPtr := accounts.offset
            let deltaPtr := deltas.offset
            let end := add(accountPtr, accounts.length)
            let prev := 0
            mstore(0x20, _escrow.slot)
            for {} lt(accountPtr, end) {} {
                let account := shr(96, calldataload(accountPtr))
                let delta := sar(160, calldataload(deltaPtr))
                if iszero(gt(account, prev)) {
                    failKind := 1
                    break
                }
                prev := account
                mstore(0x00, account)
                let slot := keccak256(0x00, 0x40)
                // balances are < 2^255 (token amounts) and |delta| < 2^95, so int256 addition cannot wrap
                let next := add(sload(slot), delta)
                if slt(next, 0) {
                    failKind := 2
                    break
                }
                sstore(slot, next)
                sum := add(sum, delta)
                accountPtr := add(accountPtr, 20)
                deltaPtr := add(deltaPtr, 12)
            }
            failIndex := div(sub(accountPtr, accounts.offset), 20)
        }
        if (failKind == 1) revert AccountsNotAscending(failIndex);
        if (failKind == 2) {
            address account = address(bytes20(accounts[failIndex * 20:failIndex * 20 + 20]));
            int256 delta = int256(int96(uint96(bytes12(deltas[failIndex * 12:failIndex * 12 + 12]))));
            revert AccountNegative(account, _escrow[account], delta);
        }
        if (sum != 0) revert DeltasNotZeroSum(sum);
        _slotRoots[slotId] = tradesRoot;
        emit SlotSettled(slotId, tradesRoot, tradesCount, n);
    }

    function slotSettled(uint64 slotId) external view returns (bool) {
        return _slotRoots[slotId] != bytes32(0);
    }

    function slotTradesRoot(uint64 slotId) external view returns (bytes32) {
        return _slotRoots[slotId];
    }

    /// Standard Merkle tree leaf (OpenZeppelin merkle-tree StandardMerkleTree) of
    /// ["uint64 slot","uint64 seq","address buyer","address seller","uint256 price","uint64 quantityWh"].
    function tradeLeaf(uint64 slot, uint64 seq, address buyer, address seller, uint256 price, uint64 quantityWh)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(slot, seq, buyer, seller, price, quantityWh))));
    }

    /// True when the trade is in the settled slot's trades tree.
    function verifyTrade(
        uint64 slot,
        uint64 seq,
        address buyer,
        address seller,
        uint256 price,
        uint64 quantityWh,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _slotRoots[slot];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, tradeLeaf(slot, seq, buyer, seller, price, quantityWh));
    }

    // ------------------------------------------------------------------ rewards

    /// One root per epoch over leaves ["address account","uint256 cumulativeAmount"]; the one it replaces stays valid
    /// for claims until the next publication (entitlements are cumulative, so an older root can never pay twice).
    function publishRewardRoot(uint64 epoch, bytes32 root) external onlyRole(OPERATOR_ROLE) {
        if (epoch <= rewardEpoch) revert EpochNotIncreasing(rewardEpoch, epoch);
        rewardEpoch = epoch;
        previousRewardRoot = rewardRoot;
        rewardRoot = root;
        emit RewardRootPublished(epoch, root);
    }

    /// Pays the caller the difference between its cumulative entitlement and what it already claimed.
    function claim(uint256 cumulativeAmount, bytes32[] calldata proof) external returns (uint256) {
        return _claim(msg.sender, cumulativeAmount, proof);
    }

    /// Same as claim, sent by anyone (a relayer); tokens always go to `account`.
    function claimFor(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external returns (uint256) {
        return _claim(account, cumulativeAmount, proof);
    }

    function _claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) private returns (uint256 paid) {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, rewardRoot, leaf) && !MerkleProof.verifyCalldata(proof, previousRewardRoot, leaf)) {
            revert InvalidRewardProof();
        }
        uint256 already = rewardsClaimed[account];
        if (cumulativeAmount <= already) revert NothingToClaim(account);
        paid = cumulativeAmount - already;
        rewardsClaimed[account] = cumulativeAmount;
        emit RewardClaimed(account, paid, cumulativeAmount);
        rewardToken.mint(account, paid);
    }

    // ------------------------------------------------------------------ EIP-712: readings and meter registry

    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid));
    }

    function meterReadingDigest(MeterReading calldata r) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                METER_READING_TYPEHASH, r.meter, r.seq, r.timestamp, r.importWh, r.exportWh, r.powerW, r.flags
            )
        );
        return MessageHashUtils.toTypedDataHash(domainSeparator(), structHash);
    }

    /// Signer of a bridge-signed reading (for disputes about metered delivery); reverts on a malformed signature.
    function recoverReadingSigner(MeterReading calldata reading, bytes calldata signature)
        external
        view
        returns (address)
    {
        return ECDSA.recoverCalldata(meterReadingDigest(reading), signature);
    }

    function meterBindingDigest(MeterBinding calldata b) public view returns (bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(METER_BINDING_TYPEHASH, b.meter, b.owner, b.role, b.capacityW, b.nonce));
        return MessageHashUtils.toTypedDataHash(domainSeparator(), structHash);
    }

    /// Binds a meter to its owner with the owner's EIP-712 signature; anyone may relay it.
    /// A bound meter can only be re-bound (role/capacity update) by the same owner with a higher nonce.
    function bindMeter(MeterBinding calldata binding, bytes calldata signature) external {
        if (binding.role > 3) revert InvalidMeterRole(binding.role);
        address signer = ECDSA.recoverCalldata(meterBindingDigest(binding), signature);
        if (signer != binding.owner) revert WrongSigner(binding.owner, signer);
        Meter storage m = meters[binding.meter];
        if (m.owner != address(0) && m.owner != binding.owner) revert MeterBoundToOther(binding.meter, m.owner);
        if (binding.nonce < m.nextNonce) revert StaleBindingNonce(binding.nonce, m.nextNonce);
        m.owner = binding.owner;
        m.role = binding.role;
        m.capacityW = binding.capacityW;
        m.nextNonce = binding.nonce + 1;
        emit MeterBound(binding.meter, binding.owner, binding.role, binding.capacityW, binding.nonce);
    }

    function unbindMeter(address meter) external {
        Meter storage m = meters[meter];
        if (m.owner != msg.sender) revert NotMeterOwner(meter);
        m.owner = address(0);
        emit MeterUnbound(meter, msg.sender);
    }
}

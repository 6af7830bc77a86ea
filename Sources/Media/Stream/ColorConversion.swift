import CFFmpeg

/// How a source's colours reach the stream's SDR BT.709.
enum ColorConversion: Equatable {
    /// Already BT.709, or untagged (taken as BT.709).
    case none
    /// SDR in other primaries or matrix (BT.601 phones and cameras, iPhone Display P3): the `colorspace` filter,
    /// with each value given as libav's enum number.
    case toBT709(matrix: Int32, primaries: Int32, transfer: Int32)
    /// PQ or HLG: tone-mapped by zimg in linear light.
    case toneMap

    // What the colorspace filter (libavfilter 8) can read; anything else is treated as untagged.
    private static let matrices: Set<AVColorSpace> = [
        AVCOL_SPC_BT709, AVCOL_SPC_FCC, AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M, AVCOL_SPC_SMPTE240M, AVCOL_SPC_BT2020_NCL,
    ]
    private static let primaries: Set<AVColorPrimaries> = [
        AVCOL_PRI_BT709, AVCOL_PRI_BT470M, AVCOL_PRI_BT470BG, AVCOL_PRI_SMPTE170M, AVCOL_PRI_SMPTE240M, AVCOL_PRI_FILM,
        AVCOL_PRI_SMPTE431, AVCOL_PRI_SMPTE432, AVCOL_PRI_BT2020,
    ]
    private static let transfers: Set<AVColorTransferCharacteristic> = [
        AVCOL_TRC_BT709, AVCOL_TRC_GAMMA22, AVCOL_TRC_GAMMA28, AVCOL_TRC_SMPTE170M, AVCOL_TRC_SMPTE240M,
        AVCOL_TRC_IEC61966_2_1, AVCOL_TRC_BT2020_10, AVCOL_TRC_BT2020_12,
    ]

    init(of frame: AVFrame) {
        if frame.color_trc == AVCOL_TRC_SMPTE2084 || frame.color_trc == AVCOL_TRC_ARIB_STD_B67 {
            self = .toneMap
            return
        }
        let matrix = Self.matrices.contains(frame.colorspace) ? frame.colorspace : AVCOL_SPC_BT709
        let primaries = Self.primaries.contains(frame.color_primaries) ? frame.color_primaries : AVCOL_PRI_BT709
        let transfer = Self.transfers.contains(frame.color_trc) ? frame.color_trc : AVCOL_TRC_BT709
        if matrix == AVCOL_SPC_BT709 && primaries == AVCOL_PRI_BT709 {
            self = .none
        } else {
            self = .toBT709(matrix: Int32(matrix.rawValue), primaries: Int32(primaries.rawValue),
                            transfer: Int32(transfer.rawValue))
        }
    }

    /// The filters that follow scaling and rotation.
    var filters: [String] {
        switch self {
        case .none:
            return []
        case let .toBT709(matrix, primaries, transfer):
            return ["colorspace=all=bt709:range=tv:ispace=\(matrix):iprimaries=\(primaries):itrc=\(transfer)"]
        case .toneMap:
            return ["zscale=t=linear:npl=100", "format=gbrpf32le", "zscale=p=bt709", "tonemap=tonemap=hable:desat=0",
                    "zscale=t=bt709:m=bt709:r=tv", "format=yuv420p"]
        }
    }
}

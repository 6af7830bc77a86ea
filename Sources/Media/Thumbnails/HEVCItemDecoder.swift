import CFFmpeg

/// Decodes a HEIF image item coded in HEVC (`hvc1`, or a `grid` of `hvc1` tiles) with libavcodec, reading
/// each tile from the file by offset and stitching the tiles into one picture cropped to the grid's size.
struct HEVCItemDecoder {
    let container: HEIFContainer
    let file: ImageFile
    /// The pool runs one job per core, so each decoder gets two threads at most.
    static let threadsPerDecoder: Int32 = 2

    /// True when the item is something this decoder handles.
    static func canDecode(_ id: UInt32, in container: HEIFContainer) -> Bool {
        switch container.items[id]?.type {
        case "hvc1": true
        case "grid": (container.derivedFrom[id] ?? []).allSatisfy { container.items[$0]?.type == "hvc1" }
        default: false
        }
    }

    func decode(_ id: UInt32) throws(MediaError) -> Frame {
        guard let item = container.items[id] else { throw HEIFContainer.corrupt("no item \(id)") }
        if item.type == "grid" { return try decodeGrid(id) }
        let decoder = try makeDecoder(for: id)
        var picture: Frame?
        let keep: (Frame) throws(MediaError) -> Void = { picture = picture ?? $0 }
        try decoder.decode(container.data(of: id, in: file), into: keep)
        try decoder.decode(nil, into: keep)
        guard let picture else { throw HEIFContainer.corrupt("item \(id) decoded to no picture") }
        return picture
    }

    private func decodeGrid(_ id: UInt32) throws(MediaError) -> Frame {
        let layout = try GridLayout(container.data(of: id, in: file).contents)
        let tiles = container.derivedFrom[id] ?? []
        guard tiles.count == layout.rows * layout.columns else {
            throw HEIFContainer.corrupt("grid of \(layout.rows)×\(layout.columns) has \(tiles.count) tiles")
        }
        let decoder = try makeDecoder(for: tiles[0])
        var canvas: Canvas?
        var placed = 0
        let place: (Frame) throws(MediaError) -> Void = { tile in
            if canvas == nil { canvas = try Canvas(layout: layout, firstTile: tile) }
            try canvas!.place(tile, at: Int(tile.raw.pointee.pts))
            placed += 1
        }
        for (index, tile) in tiles.enumerated() {
            try decoder.decode(container.data(of: tile, in: file), pts: Int64(index), into: place)
        }
        try decoder.decode(nil, into: place)
        guard let canvas, placed == tiles.count else {
            throw HEIFContainer.corrupt("only \(placed) of \(tiles.count) grid tiles decoded")
        }
        return canvas.croppedFrame
    }

    private func makeDecoder(for id: UInt32) throws(MediaError) -> PictureDecoder {
        let configuration = container.properties(of: id).lazy.compactMap { property -> [UInt8]? in
            if case .hevcConfiguration(let record) = property { record } else { nil }
        }.first
        guard let configuration else { throw HEIFContainer.corrupt("HEVC item \(id) has no hvcC configuration") }
        return try PictureDecoder(codec: AV_CODEC_ID_HEVC, extradata: configuration, threads: Self.threadsPerDecoder,
                                  skipLoopFilter: true)
    }
}

/// A `grid` item's body: how many tiles across and down, and the size of the picture they make.
struct GridLayout {
    var rows: Int
    var columns: Int
    var outputWidth: Int
    var outputHeight: Int

    init(_ body: [UInt8]) throws(MediaError) {
        var reader = BoxReader(body)
        _ = try reader.u8()  // version
        let wideFields = try reader.u8() & 1 != 0
        rows = Int(try reader.u8()) + 1
        columns = Int(try reader.u8()) + 1
        outputWidth = try reader.uint(bytes: wideFields ? 4 : 2)
        outputHeight = try reader.uint(bytes: wideFields ? 4 : 2)
    }
}

/// The full-size picture grid tiles are copied into, in the tiles' own pixel format.
struct Canvas {
    /// Larger grids are refused rather than allocated (the biggest phone photos are about 200 MP).
    static let maxPixels = 400_000_000
    let frame = Frame()
    let layout: GridLayout
    let tileWidth: Int
    let tileHeight: Int
    let format: AVPixelFormat

    init(layout: GridLayout, firstTile tile: Frame) throws(MediaError) {
        self.layout = layout
        tileWidth = Int(tile.raw.pointee.width)
        tileHeight = Int(tile.raw.pointee.height)
        format = AVPixelFormat(tile.raw.pointee.format)
        guard tileWidth * layout.columns * tileHeight * layout.rows <= Self.maxPixels else {
            throw HEIFContainer.corrupt("grid of \(layout.columns)×\(layout.rows) tiles of \(tileWidth)×\(tileHeight) is too large")
        }
        guard layout.outputWidth <= tileWidth * layout.columns, layout.outputHeight <= tileHeight * layout.rows,
              layout.outputWidth > 0, layout.outputHeight > 0 else {
            throw HEIFContainer.corrupt("grid output \(layout.outputWidth)×\(layout.outputHeight) exceeds its \(layout.columns)×\(layout.rows) tiles of \(tileWidth)×\(tileHeight)")
        }
        frame.raw.pointee.width = Int32(tileWidth * layout.columns)
        frame.raw.pointee.height = Int32(tileHeight * layout.rows)
        frame.raw.pointee.format = format.rawValue
        frame.raw.pointee.colorspace = tile.raw.pointee.colorspace
        frame.raw.pointee.color_range = tile.raw.pointee.color_range
        frame.raw.pointee.color_primaries = tile.raw.pointee.color_primaries
        let status = av_frame_get_buffer(frame.raw, 0)
        guard status >= 0 else {
            throw MediaError(.thumbnail, .decodeFailed("cannot allocate a \(tileWidth * layout.columns)×\(tileHeight * layout.rows) canvas: \(averrorText(status))"))
        }
    }

    func place(_ tile: Frame, at index: Int) throws(MediaError) {
        guard Int(tile.raw.pointee.width) == tileWidth, Int(tile.raw.pointee.height) == tileHeight,
              tile.raw.pointee.format == format.rawValue, index >= 0, index < layout.rows * layout.columns,
              let descriptor = av_pix_fmt_desc_get(format) else {
            throw HEIFContainer.corrupt("grid tile \(index) differs from the first tile")
        }
        let column = index % layout.columns, row = index / layout.columns
        for plane in 0..<Int(av_pix_fmt_count_planes(format)) {
            let isChroma = plane == 1 || plane == 2
            let shiftDown = isChroma ? Int(descriptor.pointee.log2_chroma_h) : 0
            let bytesAcross = Int(av_image_get_linesize(format, Int32(tileWidth), Int32(plane)))
            let xOffset = Int(av_image_get_linesize(format, Int32(column * tileWidth), Int32(plane)))
            let top = (row * tileHeight) >> shiftDown
            let rows = (tileHeight + (1 << shiftDown) - 1) >> shiftDown
            let canvasStride = Int(frame.lineSize(plane))
            av_image_copy_plane(frame.plane(plane)! + top * canvasStride + xOffset, Int32(canvasStride),
                                tile.plane(plane), tile.lineSize(plane), Int32(bytesAcross), Int32(rows))
        }
    }

    /// The canvas cut to the grid's output size (from the top left, as the format specifies).
    var croppedFrame: Frame {
        frame.raw.pointee.width = Int32(layout.outputWidth)
        frame.raw.pointee.height = Int32(layout.outputHeight)
        return frame
    }
}

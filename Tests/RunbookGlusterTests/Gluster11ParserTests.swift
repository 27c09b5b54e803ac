import Foundation
import RunbookCore
import RunbookGluster
import Testing

/// What a parser must handle between 10.x and 11.x (notes on GlusterFS versions, section 5.2):
/// `distCount` (wrong on 10.x, issue 3662; the number of subvolumes on 11.x) and `inodeSize`
/// (the filesystem's name on 10.x, issue 2936; a number on 11.x). Fixtures: Fixtures/INDEX.md.
@Suite struct Gluster11ParserTests {
    @Test func subvolumesComeFromBrickAndReplicaCountsNotDistCount() throws {
        let wrong = try GlusterParse.volume(
            "mastervol", in: Fixture("derived-10.3-volume-info-replica3-wrong-distcount.xml").output())
        #expect(wrong.distCount == 3, "10.x as issue 3662 shows it")
        #expect(wrong.replicaCount == 3)
        #expect(wrong.subvolumeCount == 1)
        let eleven = try GlusterParse.volume("mastervol", in: Fixture("derived-11.1-volume-info-replica3.xml").output())
        #expect(eleven.distCount == 1, "11.x: brick_count / dist_leaf_count")
        #expect(eleven.subvolumeCount == 1)
        // A captured 10.x answer with the same defect: a 1 x 2 (arbiter) Replicate volume with distCount 2.
        let music = try GlusterParse.volume("music", in: Fixture("vdsm-volume-info.xml").output())
        #expect(music.distCount == 2 && music.bricks.count == 2)
        #expect(music.subvolumeCount == 1)
        let distribute = try GlusterParse.volume("mastervol", in: Fixture("live-10.3-volume-info-all.xml").output())
        #expect(distribute.subvolumeCount == 1 && distribute.bricksPerSubvolume == 1)
    }

    @Test func inodeSizeIsTextOn10AndANumberOn11() throws {
        let ten = try #require(
            GlusterParse.brickDetails(Fixture("derived-10.3-volume-status-detail-xfs.xml").output()).first
        )
        #expect(ten.fsName == "xfs")
        #expect(ten.inodeSize == "xfs")
        #expect(ten.inodeBytes == nil)
        let eleven = try #require(
            GlusterParse.brickDetails(Fixture("derived-11.1-volume-status-detail-xfs.xml").output()).first
        )
        #expect(eleven.inodeSize == "512")
        #expect(eleven.inodeBytes == 512)
        let ext4 = try #require(
            GlusterParse.brickDetails(Fixture("live-10.3-volume-status-mastervol-detail.xml").output()).first)
        #expect(ext4.fsName == "ext4" && ext4.inodeSize == nil, "10.3 on ext4 prints no inodeSize")
    }

    @Test func theVersionLineOf10And11() throws {
        #expect(SameVersionCheck.version(try Fixture("local-10.3-gluster-version.txt").text) == "10.3")
        #expect(SameVersionCheck.version(try Fixture("derived-11.1-gluster-version.txt").text) == "11.1")
        #expect(SameVersionCheck.version("bash: gluster: command not found\n") == nil)
    }
}

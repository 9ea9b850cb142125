from hisaab.cli import main

main()
